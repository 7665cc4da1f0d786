// Command httpbench compares the Workerman HTTP protocol with net/http,
// fasthttp and a gnet server that answers every request with a canned
// response (the floor: no parsing at all). Each server runs in its own
// process with GOMAXPROCS=1 pinned to one core; wrk runs on the other.
//
//	go run ./http -rounds 5 -duration 3s
//
// Scenarios: hello world over keep-alive connections, and the same with 16
// pipelined requests per write. Rounds alternate the order of the servers
// and the tables give the median requests per second, the median of the
// per-round ratios, heap allocations per request (runtime.MemStats of the
// server process) and, with -strace, system calls per request.
//
// Throughput on a shared machine swings with the other load on it, so the
// first columns are requests per second of the server's own CPU time
// (user+system, from getrusage): the per-core efficiency, which another
// process competing for the core barely moves.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/bench/loadgen/procstat"
	"github.com/workerman-go/workerman/eventloop"
)

var (
	serveImpl = flag.String("serve", "", "run one server: workerman, uring (workerman on io_uring), metrics (workerman with MetricsAddress set; needs -procs 2 or more), adapter (net/http handler on Workerman), nethttp, fasthttp or gnet")
	addrFlag  = flag.String("addr", "127.0.0.1:0", "listen address for -serve")
	rounds    = flag.Int("rounds", 5, "rounds of every server and scenario")
	duration  = flag.Duration("duration", 3*time.Second, "wrk duration per run")
	conns     = flag.Int("c", 64, "wrk connections")
	depth     = flag.Int("pipeline", 16, "requests per write in the pipelined scenario")
	doStrace  = flag.Bool("strace", false, "count system calls per request with strace -c (one extra run per server)")
	implsFlag = flag.String("impls", "workerman,fasthttp,gnet,nethttp,adapter", "servers to compare")
	serverCPU = flag.String("server-cpu", "0", "taskset CPU list for servers")
	wrkCPU    = flag.String("wrk-cpu", "1", "taskset CPU list for wrk")
	cpuProf   = flag.String("cpuprofile", "", "with -serve: write a CPU profile here")
	before    = flag.String("before", "", "an httpbench binary built from an earlier version: adds the server \"before\", its workerman server, to the rounds")
	baseImpl  = flag.String("base", "workerman", "the server whose figures the ratio columns divide by the others'")
	procs     = flag.Int("procs", 1, "cores per server: above 1, workerman runs as workerman.RunAll with Count=N, gnet with N loops, net/http and fasthttp with GOMAXPROCS=N, wrk with N threads; CPU figures cover the process tree (set -server-cpu and -wrk-cpu to the same list, e.g. 0,1)")
	phpStart  = flag.String("php-start", "http/php/start.php", "the PHP Workerman hello world of the server \"php\" (needs php and WORKERMAN_PHP_SRC)")
)

// stats is what a server process reports when it stops.
type stats struct {
	Mallocs    uint64  `json:"mallocs"`
	Requests   uint64  `json:"requests"`
	CPUSeconds float64 `json:"cpu_seconds"` // user+system time while serving
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

const body = "Hello, World!"

func main() {
	flag.Parse()
	if os.Getenv("HTTPBENCH_PROCS") != "" {
		runAllServer() // a worker process of a RunAll server, or its master
		return
	}
	if *serveImpl != "" {
		runtime.GOMAXPROCS(max(1, *procs))
		if *procs > 1 && (*serveImpl == "workerman" || *serveImpl == "uring" || *serveImpl == "metrics") {
			if *serveImpl == "metrics" {
				os.Setenv("HTTPBENCH_METRICS", "1")
			}
			if *serveImpl == "uring" {
				os.Setenv(eventloop.PollerEnv, "io_uring")
			}
			os.Setenv("HTTPBENCH_PROCS", strconv.Itoa(*procs))
			os.Setenv("HTTPBENCH_ADDR", *addrFlag)
			runAllServer()
			return
		}
		if *cpuProf != "" {
			f, err := os.Create(*cpuProf)
			if err != nil {
				log.Fatal(err)
			}
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
		serve(*serveImpl, *addrFlag)
		return
	}
	drive()
}

// serve runs one server until SIGTERM, then prints its stats.
func serve(impl, addr string) {
	var requests func() uint64
	var start func(ln net.Listener) error
	switch impl {
	case "workerman":
		requests, start = workermanServer(addr)
	case "uring":
		os.Setenv(eventloop.PollerEnv, "io_uring")
		requests, start = workermanServer(addr)
	case "nethttp":
		requests, start = netHTTPServer()
	case "fasthttp":
		requests, start = fastHTTPServer()
	case "gnet":
		requests, start = gnetServer(addr, max(1, *procs))
	case "adapter":
		requests, start = adapterServer(addr)
	default:
		log.Fatalf("unknown server %q", impl)
	}
	var ln net.Listener
	if impl == "nethttp" || impl == "fasthttp" {
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			log.Fatal(err)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	errc := make(chan error, 1)
	go func() { errc <- start(ln) }()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := cpuSeconds()
	select {
	case <-sig:
	case err := <-errc:
		log.Fatal(err)
	}
	cpu := cpuSeconds() - cpu0
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	json.NewEncoder(os.Stdout).Encode(stats{Mallocs: m1.Mallocs - m0.Mallocs, Requests: requests(), CPUSeconds: cpu})
	pprof.StopCPUProfile()
	os.Exit(0)
}

type result struct {
	perCPU    float64 // requests per second of server CPU time
	rps       float64
	requests  int64
	allocsReq float64
	syscalls  float64
	ioCalls   float64
}

var wrkReqs = regexp.MustCompile(`(\d+) requests in ([\d.]+)(m?s)`)
var wrkRPS = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)

func drive() {
	if _, err := exec.LookPath("wrk"); err != nil {
		log.Fatal("wrk is needed (apt-get install wrk)")
	}
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	impls := strings.Split(*implsFlag, ",")
	if *before != "" {
		impls = append(impls, "before")
	}
	script := filepath.Join(os.TempDir(), "httpbench-pipeline.lua")
	os.WriteFile(script, []byte(pipelineLua), 0o644)
	scenarios := []string{"keep-alive", fmt.Sprintf("pipelined x%d", *depth)}
	res := map[string]map[string][]result{} // scenario -> impl -> rounds
	for _, s := range scenarios {
		res[s] = map[string][]result{}
	}
	for r := 0; r < *rounds; r++ {
		order := append([]string(nil), impls...)
		// Rotate the order each round so no server always goes first.
		k := r % len(order)
		order = append(order[k:], order[:k]...)
		for _, impl := range order {
			for si, s := range scenarios {
				out := run(self, impl, si == 1, script, false)
				res[s][impl] = append(res[s][impl], out)
				fmt.Fprintf(os.Stderr, "round %d %-10s %-14s %10.0f req/s %10.0f req/CPU-s %6.2f allocs/req\n", r+1, impl, s, out.rps, out.perCPU, out.allocsReq)
			}
		}
	}
	var sys map[string]map[string]result
	if *doStrace {
		sys = map[string]map[string]result{}
		for _, s := range scenarios {
			sys[s] = map[string]result{}
		}
		for _, impl := range impls {
			for si, s := range scenarios {
				sys[s][impl] = run(self, impl, si == 1, script, true)
			}
		}
	}
	fmt.Printf("servers on %d core(s) (GOMAXPROCS, processes or loops) on CPU %s, wrk -t%d -c%d -d%v on CPU %s, %d rounds, %s\n\n", max(1, *procs), *serverCPU, max(1, *procs), *conns, *duration, *wrkCPU, *rounds, time.Now().UTC().Format(time.RFC3339))
	for _, s := range scenarios {
		fmt.Printf("%s\n\n| server | requests per CPU-second (median) | %s / server, per CPU-second (median of rounds, min-max) | req/s (median, wall clock) | %s / server, req/s (median of rounds, min-max) | CPU µs/req (median) | allocs/req |", s, *baseImpl, *baseImpl)
		if sys != nil {
			fmt.Printf(" syscalls/req (all) | syscalls/req (I/O, poll) |")
		}
		fmt.Printf("\n|---|---:|---:|---:|---:|---:|---:|")
		if sys != nil {
			fmt.Printf("---:|---:|")
		}
		fmt.Println()
		for _, impl := range impls {
			rs := res[s][impl]
			var rps, per, allocs, ratios, cpuRatios []float64
			w := res[s][*baseImpl]
			for i, x := range rs {
				rps = append(rps, x.rps)
				per = append(per, x.perCPU)
				allocs = append(allocs, x.allocsReq)
				if len(w) > i && x.rps > 0 {
					ratios = append(ratios, w[i].rps/x.rps)
				}
				if len(w) > i && x.perCPU > 0 {
					cpuRatios = append(cpuRatios, w[i].perCPU/x.perCPU)
				}
			}
			us := 0.0
			if m := median(per); m > 0 {
				us = 1e6 / m
			}
			fmt.Printf("| %s | %.0f | %.3f (%s) | %.0f | %.3f (%s) | %.2f | %s |", impl, median(per), median(cpuRatios), spread(cpuRatios), median(rps), median(ratios), spread(ratios), us, allocsCell(impl, allocs))
			if sys != nil {
				fmt.Printf(" %.2f | %.2f |", sys[s][impl].syscalls, sys[s][impl].ioCalls)
			}
			fmt.Println()
		}
		fmt.Println()
	}
}

// spread is the range of the per-round ratios.
func spread(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return fmt.Sprintf("%.2f-%.2f", s[0], s[len(s)-1])
}

func allocsCell(impl string, allocs []float64) string {
	if impl == "php" || *procs > 1 {
		return "-"
	}
	return fmt.Sprintf("%.2f", median(allocs))
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func freeAddr() string {
	addr, err := procstat.FreeAddr()
	if err != nil {
		log.Fatal(err)
	}
	return addr
}

// run starts one server, loads it with wrk and stops it.
func run(self, impl string, pipelined bool, script string, trace bool) result {
	addr := freeAddr()
	args := []string{"-c", *serverCPU, self, "-serve", impl, "-addr", addr, "-procs", strconv.Itoa(*procs)}
	if impl == "before" {
		args = []string{"-c", *serverCPU, *before, "-serve", "workerman", "-addr", addr, "-procs", strconv.Itoa(*procs)}
	}
	if impl == "php" {
		args = []string{"-c", *serverCPU, "php", phpStartFile(), "start"}
	}
	cmd := exec.Command("taskset", args...)
	if impl == "php" {
		cmd.Env = append(os.Environ(), "HTTPBENCH_ADDR="+addr)
	}
	// A process tree (PHP Workerman, or any server on several cores) is
	// measured from outside: CPU time of the tree, requests counted by wrk.
	tree := impl == "php" || *procs > 1
	var startedDir string
	if *procs > 1 {
		var err error
		if startedDir, err = os.MkdirTemp("", "httpbench-"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(startedDir)
		cmd.Env = append(os.Environ(), "HTTPBENCH_DIR="+startedDir)
	}
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	waitListening(addr)
	if *procs > 1 && (impl == "workerman" || impl == "uring" || impl == "before" || impl == "metrics") {
		waitStarted(startedDir, *procs)
	}
	// PHP Workerman serves from a child of its master process and reports
	// nothing itself: its CPU time is that of its process tree while wrk
	// runs, its requests those wrk counted.
	var treeCPU0 time.Duration
	if tree {
		treeCPU0 = procstat.SampleTree(cmd.Process.Pid).CPU
	}
	var tracer *exec.Cmd
	var traceOut string
	if trace {
		traceOut = filepath.Join(os.TempDir(), "httpbench-strace-"+impl)
		if pipelined {
			traceOut += "-pipelined"
		}
		targs := []string{"-c", "-f", "-o", traceOut}
		for _, pid := range procstat.Descendants(cmd.Process.Pid) {
			targs = append(targs, "-p", strconv.Itoa(pid))
		}
		tracer = exec.Command("strace", targs...)
		tracer.Stderr = os.Stderr
		if err := tracer.Start(); err != nil {
			log.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	wargs := []string{"-c", *wrkCPU, "wrk", "-t" + strconv.Itoa(max(1, *procs)), "-c" + strconv.Itoa(*conns), "-d" + duration.String()}
	if pipelined {
		wargs = append(wargs, "-s", script)
	}
	wargs = append(wargs, "http://"+addr+"/")
	if pipelined {
		wargs = append(wargs, "--", strconv.Itoa(*depth))
	}
	out, err := exec.Command("taskset", wargs...).CombinedOutput()
	if err != nil {
		log.Fatalf("wrk: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("Non-2xx")) || bytes.Contains(out, []byte("Socket errors")) {
		fmt.Fprintf(os.Stderr, "wrk reported errors for %s:\n%s", impl, out)
	}
	var r result
	if m := wrkRPS.FindSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	if m := wrkReqs.FindSubmatch(out); m != nil {
		r.requests, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	if tracer != nil {
		tracer.Process.Signal(syscall.SIGINT)
		tracer.Wait()
		total, io := straceCounts(traceOut)
		r.syscalls = float64(total) / float64(max(r.requests, 1))
		r.ioCalls = float64(io) / float64(max(r.requests, 1))
	}
	if tree {
		if cpu := procstat.SampleTree(cmd.Process.Pid).CPU - treeCPU0; cpu > 0 && !trace {
			r.perCPU = float64(r.requests) / cpu.Seconds()
		}
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		return r
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	var st stats
	if err := json.Unmarshal(lastLine(stdout.Bytes()), &st); err == nil && st.Requests > 0 {
		r.allocsReq = float64(st.Mallocs) / float64(st.Requests)
		if st.CPUSeconds > 0 {
			r.perCPU = float64(st.Requests) / st.CPUSeconds
		}
	}
	return r
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// straceCounts returns the total of system calls in an "strace -c"
// summary and the part spent on network I/O and polling.
func straceCounts(path string) (total, io int64) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 5 || fs[0] == "%" {
			continue
		}
		calls, err := strconv.ParseInt(fs[3], 10, 64)
		if err != nil {
			continue
		}
		switch name := fs[len(fs)-1]; name {
		case "total":
			total = calls
		case "read", "write", "writev", "readv", "recvfrom", "sendto", "sendmsg", "recvmsg",
			"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "accept4", "close",
			"io_uring_enter", "select", "pselect6", "poll", "ppoll":
			io += calls
		}
	}
	return total, io
}

func waitListening(addr string) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	log.Fatalf("server on %s did not start", addr)
}

const pipelineLua = `
init = function(args)
  local depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do r[i] = wrk.format() end
  req = table.concat(r)
end
request = function() return req end
`

// runAllServer is the workerman hello world under workerman.RunAll with
// HTTPBENCH_PROCS worker processes. The worker processes run main again,
// so the settings travel in the environment and the command is "start";
// each process marks itself started in HTTPBENCH_DIR.
func runAllServer() {
	n, _ := strconv.Atoi(os.Getenv("HTTPBENCH_PROCS"))
	dir := os.Getenv("HTTPBENCH_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	workerman.PidFile = filepath.Join(dir, "httpbench.pid")
	workerman.LogFile = filepath.Join(dir, "httpbench.log")
	os.Args = []string{os.Args[0], "start"}
	if os.Getenv("HTTPBENCH_METRICS") != "" {
		// The server "metrics": the same, with the Prometheus endpoint on
		// (the worker processes count; nobody scrapes during the run).
		workerman.MetricsAddress = "127.0.0.1:0"
	}
	w := workerman.NewWorker("http://" + os.Getenv("HTTPBENCH_ADDR"))
	w.Count = n
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(body) }
	w.OnWorkerStart = func(w *workerman.Worker) {
		os.WriteFile(filepath.Join(dir, "started."+strconv.Itoa(w.ID)), nil, 0o644)
	}
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}

// waitStarted waits until n worker processes have marked themselves
// started in dir, so that the load meets every process.
func waitStarted(dir string, n int) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		all := true
		for id := 0; id < n; id++ {
			if _, err := os.Stat(filepath.Join(dir, "started."+strconv.Itoa(id))); err != nil {
				all = false
			}
		}
		if all {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	log.Fatalf("the worker processes in %s did not all start", dir)
}
