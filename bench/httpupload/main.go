// Command httpupload measures the memory an HTTP server takes for
// concurrent uploads that its handler streams (reads through and drops):
// the Workerman HTTP protocol against net/http. See README.md.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	nethttp "net/http"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/workerman-go/workerman"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

func main() {
	var (
		serve   = flag.String("serve", "", "run one server (workerman or nethttp) on -addr and wait for SIGTERM")
		addr    = flag.String("addr", "127.0.0.1:0", "server address for -serve")
		impls   = flag.String("impls", "workerman,nethttp", "servers to compare")
		conc    = flag.String("c", "50,200,400", "numbers of concurrent uploads")
		size    = flag.Int("size", 5<<20, "bytes per upload")
		rounds  = flag.Int("rounds", 3, "rounds (servers alternate inside each round)")
		settle  = flag.Duration("settle", 5*time.Second, "idle time after a burst before the settled RSS is read")
		tempDir = flag.String("tmpdir", "", "TempDir of the workerman server (large bodies go there)")
	)
	flag.Parse()
	if *serve != "" {
		runServer(*serve, *addr, *tempDir)
		return
	}
	var ns []int
	for _, s := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			log.Fatal(err)
		}
		ns = append(ns, n)
	}
	names := strings.Split(*impls, ",")
	results := map[string][]result{} // key: name/N
	ratios := map[int][]float64{}    // per N: workerman/nethttp of peak growth per upload, per round
	for r := 0; r < *rounds; r++ {
		for _, n := range ns {
			perRound := map[string]result{}
			for i := range names {
				name := names[(i+r)%len(names)]
				res, err := measure(name, n, *size, *settle, *tempDir)
				if err != nil {
					log.Fatalf("%s, %d uploads: %v", name, n, err)
				}
				fmt.Fprintf(os.Stderr, "round %d, %d uploads, %s: %s\n", r+1, n, name, res)
				key := fmt.Sprintf("%s/%d", name, n)
				results[key] = append(results[key], res)
				perRound[name] = res
			}
			if a, b := perRound["workerman"], perRound["nethttp"]; a.n > 0 && b.n > 0 && b.peakPer() > 0 {
				ratios[n] = append(ratios[n], a.peakPer()/b.peakPer())
			}
		}
	}
	fmt.Printf("%d rounds, %d bytes per upload, settle %v, %s\n\n", *rounds, *size, *settle, time.Now().UTC().Format(time.RFC3339))
	fmt.Println("| uploads | server | RSS before (MiB) | RSS growth per upload, mid-upload (KiB) | peak RSS growth per upload (KiB) | RSS after the burst (MiB) | RSS settled (MiB) | workerman / net/http, peak per upload |")
	fmt.Println("|---:|---|---:|---:|---:|---:|---:|---:|")
	for _, n := range ns {
		for _, name := range names {
			rs := results[fmt.Sprintf("%s/%d", name, n)]
			ratio := ""
			if name == "workerman" && len(ratios[n]) > 0 {
				ratio = fmt.Sprintf("%.3f", median(ratios[n]))
			}
			fmt.Printf("| %d | %s | %.1f | %.0f | %.0f | %.1f | %.1f | %s |\n", n, name,
				med(rs, func(r result) float64 { return mib(r.before) }),
				med(rs, func(r result) float64 { return r.midPer() }),
				med(rs, func(r result) float64 { return r.peakPer() }),
				med(rs, func(r result) float64 { return mib(r.after) }),
				med(rs, func(r result) float64 { return mib(r.settled) }),
				ratio)
		}
	}
}

// result is one burst against one fresh server process; sizes in bytes.
type result struct {
	n                                 int
	before, mid, peak, after, settled int64
}

func (r result) midPer() float64  { return float64(r.mid-r.before) / float64(r.n) / 1024 }
func (r result) peakPer() float64 { return float64(r.peak-r.before) / float64(r.n) / 1024 }
func (r result) String() string {
	return fmt.Sprintf("before %.1f MiB, mid %.0f KiB/upload, peak %.0f KiB/upload, after %.1f MiB, settled %.1f MiB",
		mib(r.before), r.midPer(), r.peakPer(), mib(r.after), mib(r.settled))
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func med(rs []result, f func(result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return median(v)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// measure starts a fresh server process, sends n concurrent uploads of
// size bytes, and reads the server's RSS: before, while every upload is
// half sent, its high-water mark, right after the burst and after settle.
func measure(name string, n, size int, settle time.Duration, tempDir string) (result, error) {
	res := result{n: n}
	cmd := exec.Command(os.Args[0], "-serve", name, "-addr", "127.0.0.1:0", "-tmpdir", tempDir)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return res, err
	}
	if err := cmd.Start(); err != nil {
		return res, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return res, fmt.Errorf("server did not start: %v", err)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "ready "))
	pid := cmd.Process.Pid
	// One small upload first, so that the baseline includes a served
	// request.
	if err := upload(addr, 1<<10, nil, nil); err != nil {
		return res, err
	}
	time.Sleep(200 * time.Millisecond)
	res.before = rss(pid, "VmRSS")
	var half, all sync.WaitGroup
	half.Add(n)
	release := make(chan struct{})
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		all.Add(1)
		go func() {
			defer all.Done()
			if err := upload(addr, size, &half, release); err != nil {
				errs <- err
			}
		}()
	}
	half.Wait()
	time.Sleep(500 * time.Millisecond)
	res.mid = rss(pid, "VmRSS")
	close(release)
	all.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return res, err
	}
	res.peak = rss(pid, "VmHWM")
	res.after = rss(pid, "VmRSS")
	time.Sleep(settle)
	res.settled = rss(pid, "VmRSS")
	return res, nil
}

// upload sends one POST of size bytes; when half is set it signals it
// after the first half and waits for release before the rest.
func upload(addr string, size int, half *sync.WaitGroup, release chan struct{}) error {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		if half != nil {
			half.Done()
		}
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: bench\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", size)
	piece := make([]byte, 32<<10)
	for i := range piece {
		piece[i] = byte('a' + i%26)
	}
	send := func(n int) error {
		for n > 0 {
			k := min(n, len(piece))
			if _, err := c.Write(piece[:k]); err != nil {
				return err
			}
			n -= k
		}
		return nil
	}
	first := size / 2
	err = send(first)
	if half != nil {
		half.Done()
		<-release
	}
	if err != nil {
		return err
	}
	if err := send(size - first); err != nil {
		return err
	}
	resp, err := nethttp.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != strconv.Itoa(size) {
		return fmt.Errorf("upload answered %d %q", resp.StatusCode, b)
	}
	return nil
}

// rss reads a field of /proc/PID/status, in bytes.
func rss(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			f := strings.Fields(l[len(field)+1:])
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// runServer runs one server whose handler reads each body through and
// answers its length.
func runServer(name, addr, tempDir string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	switch name {
	case "workerman":
		a := ln.Addr().String()
		ln.Close()
		w := workerman.NewWorker("http://" + a)
		w.Protocol = &wmhttp.Protocol{MaxBodySize: 1 << 30, TempDir: tempDir}
		w.OnMessage = func(c *workerman.Connection, data any) {
			r := data.(*wmhttp.Request)
			body := r.BodyReader()
			n, _ := io.Copy(io.Discard, body)
			body.Close()
			c.Send(strconv.FormatInt(n, 10))
		}
		if err := w.Listen(); err != nil {
			log.Fatal(err)
		}
		fmt.Println("ready " + a)
		go func() {
			s := make(chan os.Signal, 1)
			signal.Notify(s, syscall.SIGTERM)
			<-s
			os.Exit(0)
		}()
		log.Fatal(workerman.EventLoop().Run())
	case "nethttp":
		fmt.Println("ready " + ln.Addr().String())
		h := nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
			n, _ := io.Copy(io.Discard, r.Body)
			w.Write([]byte(strconv.FormatInt(n, 10)))
		})
		go func() {
			s := make(chan os.Signal, 1)
			signal.Notify(s, syscall.SIGTERM)
			<-s
			os.Exit(0)
		}()
		log.Fatal((&nethttp.Server{Handler: h}).Serve(ln))
	default:
		log.Fatalf("unknown server %q", name)
	}
}
