// Command tls compares workerman's TLS transport (crypto/tls driven by the
// event loop) with a plain crypto/tls server over net (a goroutine per
// connection) and with nbio's non-blocking TLS (an event loop running a
// fork of crypto/tls): full-handshake rate, echo round trips of small
// messages, and bulk echo throughput.
//
// Each server runs in its own child process so its allocations and
// read/write system calls can be counted; both stay up for the whole run
// and are measured alternately, round after round, by the same client
// code in this process. The result is the median over the rounds of
// workerman's figure divided by each peer's.
//
//	cd bench && go run ./tls -rounds 7
package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	ltls "github.com/lesismal/llib/std/crypto/tls"
	"github.com/lesismal/nbio"
	ntls "github.com/lesismal/nbio/extension/tls"
	"github.com/lesismal/nbio/logging"
	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/testcert"
)

var (
	serve      = flag.String("serve", "", "internal: run a server (workerman, gotls or nbio)")
	certFile   = flag.String("cert", "", "internal: certificate file")
	keyFile    = flag.String("key", "", "internal: key file")
	rounds     = flag.Int("rounds", 5, "measurement rounds")
	handshakes = flag.Int("handshakes", 1500, "full TLS handshakes per round and server")
	hsConc     = flag.Int("hs-conc", 8, "concurrent handshaking clients")
	conns      = flag.Int("conns", 50, "connections for the echo tests")
	echoes     = flag.Int("echoes", 400, "round trips per connection per round")
	msgSize    = flag.Int("msg", 512, "echo message size in bytes")
	bulkMB     = flag.Int("bulk-mb", 64, "MiB echoed per round in the bulk test (over 4 connections)")
	only       = flag.String("only", "", "run only the tests whose name contains this")
	profile    = flag.String("cpuprofile", "", "write each server's CPU profile to this prefix + server name")
	memProfile = flag.String("memprofile", "", "write each server's allocation profile (every allocation sampled) to this prefix + server name")
)

func main() {
	flag.Parse()
	if *serve != "" {
		runServer(*serve)
		return
	}
	if err := drive(); err != nil {
		log.Fatal(err)
	}
}

// ---- servers (child processes) ----

func runServer(kind string) {
	if *profile != "" {
		f, err := os.Create(*profile + kind)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
	}
	if *memProfile != "" {
		runtime.MemProfileRate = 1
		stopCPU := stopProfile
		stopProfile = func() {
			stopCPU()
			if f, err := os.Create(*memProfile + kind); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	switch kind {
	case "workerman":
		w := workerman.NewWorker("tcp://127.0.0.1:0")
		w.Transport = "ssl"
		w.TLSConfig = cfg
		// Echo with flow control, as crypto/tls's blocking Write has: a
		// client that does not read pauses its own input.
		w.OnConnect = func(c *workerman.Connection) { c.Pipe(c) }
		if err := w.Listen(); err != nil {
			log.Fatal(err)
		}
		fmt.Println("ADDR", w.Addr())
		go control()
		if err := workerman.EventLoop().Run(); err != nil {
			log.Fatal(err)
		}
	case "gotls":
		ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("ADDR", ln.Addr())
		go control()
		for {
			c, err := ln.Accept()
			if err != nil {
				log.Fatal(err)
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 16<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	case "nbio":
		serveNbio()
	default:
		log.Fatalf("unknown server %q", kind)
	}
}

// serveNbio runs nbio's engine (its default number of pollers) with its
// TLS extension: the socket's bytes are appended to llib's crypto/tls fork
// on the poller goroutine, decrypted and echoed there.
func serveNbio() {
	cert, err := ltls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatal(err)
	}
	cfg := &ltls.Config{Certificates: []ltls.Certificate{cert}}
	logging.SetLevel(logging.LevelNone) // stdout carries the control protocol
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	g := nbio.NewEngine(nbio.Config{
		Network: "tcp",
		Addrs:   []string{ln.Addr().String()},
		Listen:  func(string, string) (net.Listener, error) { return ln, nil },
	})
	bufs := sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}
	g.OnOpen(ntls.WrapOpen(cfg, false, nil))
	g.OnClose(ntls.WrapClose(nil))
	g.OnData(func(c *nbio.Conn, data []byte) {
		tc, ok := c.Session().(*ntls.Conn)
		if !ok {
			return
		}
		tc.Append(data)
		bp := bufs.Get().(*[]byte)
		defer bufs.Put(bp)
		for {
			n, err := tc.Read(*bp)
			if err != nil {
				c.Close()
				return
			}
			if n == 0 {
				return
			}
			if _, err := tc.Write((*bp)[:n]); err != nil {
				c.Close()
				return
			}
		}
	})
	if err := g.Start(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("ADDR", ln.Addr())
	control()
}

// control answers "stats" with the process's allocation and read/write
// system call counts, and exits when its input ends.
func control() {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		r, w := procIO()
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		cpu := ru.Utime.Nano()/1000 + ru.Stime.Nano()/1000
		fmt.Printf("STATS %d %d %d %d\n", ms.Mallocs, r, w, cpu)
	}
	stopProfile()
	os.Exit(0)
}

var stopProfile = func() {}

func procIO() (syscr, syscw int64) {
	b, _ := os.ReadFile("/proc/self/io")
	for _, l := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(l, ": ")
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			syscr = n
		case "syscw":
			syscw = n
		}
	}
	return
}

// ---- driver ----

type server struct {
	name string
	addr string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
}

type stats struct{ mallocs, syscalls, cpuMicros int64 }

func (s *server) stats() (stats, error) {
	if _, err := fmt.Fprintln(s.in, "stats"); err != nil {
		return stats{}, err
	}
	line, err := s.out.ReadString('\n')
	if err != nil {
		return stats{}, err
	}
	var m, r, w, cpu int64
	if _, err := fmt.Sscanf(line, "STATS %d %d %d %d", &m, &r, &w, &cpu); err != nil {
		return stats{}, fmt.Errorf("%s: %q: %w", s.name, line, err)
	}
	return stats{m, r + w, cpu}, nil
}

func start(name, cert, key string) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve", name, "-cert", cert, "-key", key, "-cpuprofile", *profile, "-memprofile", *memProfile)
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	outp, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{name: name, cmd: cmd, in: in, out: bufio.NewReader(outp)}
	line, err := s.out.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		return nil, fmt.Errorf("%s did not start: %q %v", name, line, err)
	}
	s.addr = strings.TrimSpace(line[5:])
	return s, nil
}

func (s *server) stop() {
	s.in.Close()
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// result is one measurement: a rate and the server's costs per operation.
type result struct {
	rate          float64 // operations (or MiB) per second
	cpuPerOp      float64 // server CPU time per operation, µs
	allocsPerOp   float64
	syscallsPerOp float64
	ops           int
	elapsed       time.Duration
	unit          string
}

type test struct {
	name  string
	unit  string
	conns int // connections opened (and handshaken) before the clock starts
	run   func(addr string, cfg *tls.Config, cs []*tls.Conn) (ops int, err error)
}

func drive() error {
	dir, err := os.MkdirTemp("", "wm-bench-tls-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ca, err := testcert.NewCA(dir)
	if err != nil {
		return err
	}
	pair, err := ca.Server("server")
	if err != nil {
		return err
	}
	var servers []*server
	for _, name := range serverNames {
		s, err := start(name, pair.CertFile, pair.KeyFile)
		if err != nil {
			return err
		}
		defer s.stop()
		servers = append(servers, s)
	}
	cfg := &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"}
	tests := []test{
		{"handshake (full, ECDSA P-256, TLS 1.3)", "handshakes/s", 0, runHandshakes},
		{fmt.Sprintf("echo %d B round trips, %d conns", *msgSize, *conns), "round trips/s", *conns, runEcho},
		{fmt.Sprintf("bulk echo %d MiB, 4 conns", *bulkMB), "MiB/s", 4, runBulk},
	}
	fmt.Printf("TLS benchmark: %d rounds, GOMAXPROCS %d, %s\n\n", *rounds, runtime.GOMAXPROCS(0), runtime.Version())
	for _, tc := range tests {
		if !strings.Contains(tc.name, *only) {
			continue
		}
		res := make([][]result, len(servers))
		for r := 0; r < *rounds; r++ {
			// Rotate the order every round, so no server always runs
			// first or last.
			for k := range servers {
				i := (k + r) % len(servers)
				x, err := measure(servers[i], tc, cfg)
				if err != nil {
					return fmt.Errorf("%s on %s: %w", tc.name, servers[i].name, err)
				}
				res[i] = append(res[i], x)
			}
		}
		report(tc, res)
	}
	return nil
}

// serverNames are the servers measured; the first is workerman, the others
// are its peers. Their labels in the report are in serverLabels.
var (
	serverNames  = []string{"workerman", "gotls", "nbio"}
	serverLabels = []string{"workerman", "crypto/tls", "nbio"}
)

func measure(s *server, tc test, cfg *tls.Config) (result, error) {
	var cs []*tls.Conn
	if tc.conns > 0 {
		var err error
		if cs, err = dialAll(s.addr, cfg, tc.conns); err != nil {
			return result{}, err
		}
		defer func() {
			for _, c := range cs {
				c.Close()
			}
		}()
	}
	runtime.GC()
	before, err := s.stats()
	if err != nil {
		return result{}, err
	}
	t0 := time.Now()
	ops, err := tc.run(s.addr, cfg, cs)
	el := time.Since(t0)
	if err != nil {
		return result{}, err
	}
	after, err := s.stats()
	if err != nil {
		return result{}, err
	}
	return result{
		rate:          float64(ops) / el.Seconds(),
		cpuPerOp:      float64(after.cpuMicros-before.cpuMicros) / float64(ops),
		allocsPerOp:   float64(after.mallocs-before.mallocs) / float64(ops),
		syscallsPerOp: float64(after.syscalls-before.syscalls) / float64(ops),
		ops:           ops,
		elapsed:       el,
		unit:          tc.unit,
	}, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func report(tc test, res [][]result) {
	fmt.Printf("## %s\n", tc.name)
	fmt.Printf("%-10s %16s %12s %12s %16s\n", "server", "median "+tc.unit, "CPU µs/op", "allocs/op", "r+w syscalls/op")
	col := func(rs []result, f func(result) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	for i, rs := range res {
		fmt.Printf("%-10s %16.1f %12.1f %12.1f %16.2f\n", serverLabels[i],
			col(rs, func(r result) float64 { return r.rate }),
			col(rs, func(r result) float64 { return r.cpuPerOp }),
			col(rs, func(r result) float64 { return r.allocsPerOp }),
			col(rs, func(r result) float64 { return r.syscallsPerOp }))
	}
	wm := res[0]
	for i := 1; i < len(res); i++ {
		var ratios, cpuRatios []float64
		for r := range wm {
			ratios = append(ratios, wm[r].rate/res[i][r].rate)
			cpuRatios = append(cpuRatios, wm[r].cpuPerOp/res[i][r].cpuPerOp)
		}
		name := strings.ReplaceAll(serverLabels[i], "/", "-")
		fmt.Printf("%-44s %s; median %.2f\n", "rate, workerman/"+name+" per round:", joinRatios(ratios), median(ratios))
		fmt.Printf("%-44s %s; median %.2f\n", "server CPU per op, workerman/"+name+":", joinRatios(cpuRatios), median(cpuRatios))
	}
	fmt.Println()
}

func joinRatios(xs []float64) string {
	rs := make([]string, len(xs))
	for i, r := range xs {
		rs[i] = fmt.Sprintf("%.2f", r)
	}
	return strings.Join(rs, " ")
}

// runHandshakes completes full handshakes (no session resumption), each
// followed by a one-byte echo so that the server's side is finished too.
func runHandshakes(addr string, cfg *tls.Config, _ []*tls.Conn) (int, error) {
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < *hsConc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := []byte{'x'}
			for next.Add(1) <= int64(*handshakes) {
				err := func() error {
					c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
					if err != nil {
						return err
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(10 * time.Second))
					if _, err := c.Write(b); err != nil {
						return err
					}
					_, err = io.ReadFull(c, b)
					return err
				}()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return *handshakes, firstErr
}

// dialAll opens n TLS connections and completes their handshakes.
func dialAll(addr string, cfg *tls.Config, n int) ([]*tls.Conn, error) {
	cs := make([]*tls.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			for _, c := range cs {
				c.Close()
			}
			return nil, err
		}
		c.SetDeadline(time.Now().Add(60 * time.Second))
		cs = append(cs, c)
		// One echo, so the server has finished its side of the handshake.
		b := []byte{'x'}
		_, err = c.Write(b)
		if err == nil {
			_, err = io.ReadFull(c, b)
		}
		if err != nil {
			for _, c := range cs {
				c.Close()
			}
			return nil, err
		}
	}
	return cs, nil
}

// parallel runs f for every connection and returns the first error.
func parallel(cs []*tls.Conn, f func(c *tls.Conn) error) error {
	errs := make(chan error, len(cs))
	for _, c := range cs {
		go func() { errs <- f(c) }()
	}
	var first error
	for range cs {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// runEcho measures round trips of small messages on connections opened
// before the clock started.
func runEcho(addr string, cfg *tls.Config, cs []*tls.Conn) (int, error) {
	msg := make([]byte, *msgSize)
	err := parallel(cs, func(c *tls.Conn) error {
		buf := make([]byte, len(msg))
		for i := 0; i < *echoes; i++ {
			if _, err := c.Write(msg); err != nil {
				return err
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				return err
			}
		}
		return nil
	})
	return len(cs) * *echoes, err
}

// runBulk streams data through its connections and reads the echo back
// concurrently; the result is in MiB.
func runBulk(addr string, cfg *tls.Config, cs []*tls.Conn) (int, error) {
	per := (*bulkMB << 20) / len(cs)
	err := parallel(cs, func(c *tls.Conn) error {
		done := make(chan error, 1)
		go func() {
			chunk := make([]byte, 32<<10)
			for sent := 0; sent < per; sent += len(chunk) {
				if _, err := c.Write(chunk); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		n, err := io.CopyN(io.Discard, c, int64(per))
		if err == nil && n != int64(per) {
			err = errors.New("short echo")
		}
		if werr := <-done; err == nil {
			err = werr
		}
		return err
	})
	return *bulkMB, err
}
