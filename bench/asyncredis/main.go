// Command asyncredis compares a WebSocket worker that does one Redis GET per
// message through workerman.AsyncPool with gorilla/websocket calling
// go-redis directly on each connection's goroutine. Both servers use the
// same go-redis client settings against the same private redis-server and
// answer each message (a key) with the key's value; the clients are
// gorilla/websocket connections doing sequential round trips.
//
// Each round starts a fresh server process per implementation, in an order
// that alternates from round to round, and measures messages per second and
// messages per CPU-second of the server process (utime+stime from
// /proc/PID/stat; Redis's own CPU is not counted for either). The report
// gives medians and the median same-round ratio workerman/gorilla.
//
//	cd bench && go run ./asyncredis run -rounds 5 -conns 50 -msgs 4000
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"
	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/protocols/websocket"
)

var impls = []string{"workerman", "gorilla"}

// redisPool is go-redis's PoolSize for both servers, and the AsyncPool's
// Workers for workerman.
const redisPool = 64

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "server":
		if len(os.Args) != 4 {
			usage()
		}
		serve(os.Args[2], os.Args[3])
	case "run":
		fs := flag.NewFlagSet("run", flag.ExitOnError)
		rounds := fs.Int("rounds", 5, "rounds (servers alternate within each)")
		conns := fs.Int("conns", 50, "WebSocket connections")
		msgs := fs.Int("msgs", 4000, "round trips per connection")
		size := fs.Int("size", 64, "value size in bytes")
		fs.Parse(os.Args[2:])
		res, err := run(*rounds, *conns, *msgs, *size, os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		report(os.Stdout, res)
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: asyncredis run [-rounds N] [-conns N] [-msgs N] [-size N]")
	os.Exit(2)
}

// serve runs one server implementation, prints its address and exits when
// stdin closes.
func serve(impl, redisAddr string) {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, PoolSize: redisPool, MinIdleConns: 8})
	var addr string
	switch impl {
	case "workerman":
		addr = serveWorkerman(rdb)
	case "gorilla":
		addr = serveGorilla(rdb)
	default:
		fmt.Fprintln(os.Stderr, "unknown impl", impl)
		os.Exit(2)
	}
	fmt.Println(addr)
	bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}

func serveWorkerman(rdb *redis.Client) string {
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.Protocol = &websocket.Server{Type: websocket.BinaryTypeArrayBuffer}
	pool := &workerman.AsyncPool{Workers: redisPool, Queue: 4096}
	w.OnMessage = func(c *workerman.Connection, data any) {
		key := string(data.([]byte))
		err := workerman.AsyncOn(pool, c, func(ctx context.Context) ([]byte, error) {
			return rdb.Get(ctx, key).Bytes()
		}, func(v []byte, err error) {
			if err != nil {
				c.Send([]byte("error: " + err.Error()))
				return
			}
			c.Send(v)
		})
		if err != nil {
			c.Send([]byte("error: " + err.Error()))
		}
	}
	addr := make(chan string)
	workerman.Post(func() {
		if err := w.Listen(); err != nil {
			panic(err)
		}
		addr <- w.Addr().String()
	})
	go workerman.EventLoop().Run()
	return <-addr
}

func serveGorilla(rdb *redis.Client) string {
	up := gorilla.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}
	h := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(rw, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		ctx := r.Context()
		for {
			mt, key, err := c.ReadMessage()
			if err != nil {
				return
			}
			v, err := rdb.Get(ctx, string(key)).Bytes()
			if err != nil {
				v = []byte("error: " + err.Error())
			}
			if err := c.WriteMessage(mt, v); err != nil {
				return
			}
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go http.Serve(ln, h)
	return ln.Addr().String()
}

// Result is one implementation's measurement in one round.
type Result struct {
	Rate      float64 // messages per second
	PerCPUSec float64 // messages per CPU-second of the server process
	CPUShare  float64 // server CPU time / wall time
}

// run measures every implementation for rounds rounds; progress goes to
// log.
func run(rounds, conns, msgs, size int, log *os.File) (map[string][]Result, error) {
	r, err := startRedis(size)
	if err != nil {
		return nil, err
	}
	defer r.stop()
	fmt.Fprintf(log, "%d connections x %d round trips, one GET of a %d-byte value each; %d rounds\n", conns, msgs, size, rounds)
	res := map[string][]Result{}
	for round := range rounds {
		order := append(slices.Clone(impls[round%len(impls):]), impls[:round%len(impls)]...)
		for _, impl := range order {
			x, err := measure(impl, r.addr, conns, msgs, size)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", impl, err)
			}
			res[impl] = append(res[impl], x)
		}
		fmt.Fprintf(log, "round %d: workerman %.0f msg/CPU-s, gorilla %.0f msg/CPU-s\n", round+1,
			res["workerman"][round].PerCPUSec, res["gorilla"][round].PerCPUSec)
	}
	return res, nil
}

func measure(impl, redisAddr string, conns, msgs, size int) (Result, error) {
	cmd := exec.Command(os.Args[0], "server", impl, redisAddr)
	in, err := cmd.StdinPipe()
	if err != nil {
		return Result{}, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return Result{}, err
	}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return Result{}, err
	}
	defer func() {
		in.Close()
		cmd.Process.Kill()
		cmd.Wait()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return Result{}, errors.New("server did not start")
	}
	addr := strings.TrimSpace(line)
	cs := make([]*gorilla.Conn, conns)
	for i := range cs {
		c, _, err := (&gorilla.Dialer{HandshakeTimeout: 10 * time.Second}).Dial("ws://"+addr+"/", nil)
		if err != nil {
			return Result{}, err
		}
		defer c.Close()
		cs[i] = c
	}
	// A short warm-up on every connection.
	if err := load(cs, 20, size); err != nil {
		return Result{}, err
	}
	cpu0, err := cpuTime(cmd.Process.Pid)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	if err := load(cs, msgs, size); err != nil {
		return Result{}, err
	}
	wall := time.Since(start)
	cpu1, err := cpuTime(cmd.Process.Pid)
	if err != nil {
		return Result{}, err
	}
	n := float64(conns * msgs)
	cpu := (cpu1 - cpu0).Seconds()
	return Result{Rate: n / wall.Seconds(), PerCPUSec: n / max(cpu, 0.01), CPUShare: cpu / wall.Seconds()}, nil
}

// load makes every connection do msgs sequential round trips and checks
// each answer.
func load(cs []*gorilla.Conn, msgs, size int) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(cs))
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(5 * time.Minute))
			for j := range msgs {
				k := (i*msgs + j) % keys
				if err := c.WriteMessage(gorilla.BinaryMessage, []byte("k"+strconv.Itoa(k))); err != nil {
					errs <- err
					return
				}
				_, v, err := c.ReadMessage()
				if err != nil {
					errs <- err
					return
				}
				if len(v) != size || v[0] != byte('a'+k%26) {
					errs <- fmt.Errorf("wrong value for k%d: %.40q", k, v)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// cpuTime is the process's user plus system time.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// Fields after the command: state is f[0], utime f[11], stime f[12].
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond, nil // USER_HZ is 100 on Linux
}

// keys is how many keys the Redis server holds.
const keys = 1000

type redisServer struct {
	addr string
	cmd  *exec.Cmd
	dir  string
}

// startRedis runs a private redis-server and stores keys k0…k999, each a
// value of size bytes.
func startRedis(size int) (*redisServer, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is needed (Debian: apt-get install redis-server): %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	dir, err := os.MkdirTemp("", "asyncredis-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--loglevel", "warning")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	r := &redisServer{addr: addr, cmd: cmd, dir: dir}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(ctx).Err() != nil {
		if time.Now().After(deadline) {
			r.stop()
			return nil, errors.New("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pipe := rdb.Pipeline()
	for k := range keys {
		pipe.Set(ctx, "k"+strconv.Itoa(k), strings.Repeat(string(rune('a'+k%26)), size), 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

func (r *redisServer) stop() {
	r.cmd.Process.Kill()
	r.cmd.Wait()
	os.RemoveAll(r.dir)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func report(w *os.File, res map[string][]Result) {
	fmt.Fprintf(w, "\n%-10s %14s %18s %12s %30s\n", "server", "median msg/s", "median msg/CPU-s", "server CPU", "median ratio msg/CPU-s wm/x")
	for _, impl := range impls {
		var rate, per, share, ratio []float64
		for i, x := range res[impl] {
			rate = append(rate, x.Rate)
			per = append(per, x.PerCPUSec)
			share = append(share, x.CPUShare)
			ratio = append(ratio, res["workerman"][i].PerCPUSec/x.PerCPUSec)
		}
		fmt.Fprintf(w, "%-10s %14.0f %18.0f %11.0f%% %30.2f\n", impl, median(rate), median(per), 100*median(share), median(ratio))
	}
}
