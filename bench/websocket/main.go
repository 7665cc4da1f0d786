// Command wsbench compares the WebSocket server of workerman with
// gorilla/websocket and lxzan/gws: echo ping-pong, broadcast fan-out, and
// memory per idle connection. Each server runs in its own process; see
// README.md for the commands.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gorilla "github.com/gorilla/websocket"
)

var impls = []string{"workerman", "gorilla", "gws"}

func init() {
	// WSBENCH_IMPLS restricts the servers, for profiling one of them.
	if v := os.Getenv("WSBENCH_IMPLS"); v != "" {
		impls = strings.Split(v, ",")
	}
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "server":
		serve(os.Args[2])
		os.Exit(0)
	case "hold":
		n, _ := strconv.Atoi(os.Args[3])
		hold(os.Args[2], n)
	case "run":
		fs := flag.NewFlagSet("run", flag.ExitOnError)
		rounds := fs.Int("rounds", 5, "rounds; the order of the servers rotates each round")
		conns := fs.Int("conns", 50, "echo: concurrent connections")
		msgs := fs.Int("msgs", 2000, "echo: round trips per connection")
		size := fs.Int("size", 64, "message size in bytes")
		subs := fs.Int("subs", 500, "broadcast: subscribers")
		pubs := fs.Int("pubs", 100, "broadcast: messages published")
		fs.IntVar(&serverProcs, "procs", 0, "GOMAXPROCS of every server process (0: the runtime's default, the number of CPUs)")
		wss := fs.Bool("tls", false, "serve and dial wss (TLS 1.3) instead of ws")
		fs.Parse(os.Args[2:])
		if *wss {
			os.Setenv(tlsEnv, "1")
		}
		run(*rounds, *conns, *msgs, *size, *subs, *pubs)
	case "frag":
		fs := flag.NewFlagSet("frag", flag.ExitOnError)
		rounds := fs.Int("rounds", 3, "rounds; the order of the servers rotates each round")
		sizes := fs.String("sizes", "1048576,16777216", "message sizes in bytes")
		frags := fs.String("frags", "64,4096", "fragment sizes in bytes")
		perRound := fs.Int("mib", 64, "MiB echoed per message size, fragment size and server in each round")
		fs.IntVar(&serverProcs, "procs", 0, "GOMAXPROCS of every server process (0: the runtime's default, the number of CPUs)")
		fs.Parse(os.Args[2:])
		fragRun(*rounds, ints(*sizes), ints(*frags), *perRound<<20)
	case "all":
		// Every test with its default settings, one after the other: the
		// command the README's tables come from.
		fmt.Printf("wsbench all, %s, %s, %s\n\n", runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH, time.Now().UTC().Format(time.RFC3339))
		run(5, 50, 2000, 64, 500, 100)
		fmt.Println()
		serverProcs = 1
		fmt.Println("the same with GOMAXPROCS=1 in every server process:")
		run(5, 50, 2000, 64, 500, 100)
		serverProcs = 0
		fmt.Println()
		fragRun(3, []int{1 << 20, 16 << 20}, []int{64, 4096}, 64<<20)
		fmt.Println()
		deflateRun(200, 200)
		fmt.Println()
		idle(10000, 4)
	case "deflate":
		fs := flag.NewFlagSet("deflate", flag.ExitOnError)
		conns := fs.Int("conns", 200, "connections")
		msgs := fs.Int("msgs", 200, "messages echoed per connection")
		fs.Parse(os.Args[2:])
		deflateRun(*conns, *msgs)
	case "idle":
		fs := flag.NewFlagSet("idle", flag.ExitOnError)
		n := fs.Int("conns", 10000, "idle connections")
		procs := fs.Int("procs", 4, "client processes")
		fs.Parse(os.Args[2:])
		idle(*n, *procs)
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: wsbench all | run [-rounds 5 -conns 50 -msgs 2000 -size 64 -subs 500 -pubs 100 -procs 0] | frag [-rounds 3 -sizes 1048576,16777216 -frags 64,4096 -mib 64 -procs 0] | deflate [-conns 200 -msgs 200] | idle [-conns 10000 -procs 4]")
	os.Exit(2)
}

// server is a server process under test.
type server struct {
	cmd  *exec.Cmd
	in   *os.File
	out  *bufio.Reader
	addr string
}

// serverProcs, when positive, is the GOMAXPROCS of every server process.
var serverProcs int

func startServer(impl string) *server {
	cmd := exec.Command(os.Args[0], "server", impl)
	if serverProcs > 0 {
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(serverProcs))
	}
	inR, inW, _ := os.Pipe()
	cmd.Stdin = inR
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	inR.Close()
	s := &server{cmd: cmd, in: inW, out: bufio.NewReader(stdout)}
	line, err := s.out.ReadString('\n')
	if err != nil {
		panic("server " + impl + " did not start")
	}
	s.addr = strings.TrimSpace(line)
	return s
}

type stats struct {
	conns, mallocs, heap int64
	cpu                  time.Duration // user+system CPU time of the server
	rss                  int64         // bytes
	syscalls             int64         // read+write system calls
	wchar                int64         // bytes written
}

func (s *server) stats(gc bool) stats {
	cmd := "stats\n"
	if gc {
		cmd = "gcstats\n"
	}
	s.in.WriteString(cmd)
	line, _ := s.out.ReadString('\n')
	var st stats
	fmt.Sscan(line, &st.conns, &st.mallocs, &st.heap, &st.cpu)
	pid := s.cmd.Process.Pid
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmRSS:") {
				kb, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
				st.rss = kb << 10
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) == 2 && (f[0] == "syscr:" || f[0] == "syscw:") {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				st.syscalls += n
			}
			if len(f) == 2 && f[0] == "wchar:" {
				st.wchar, _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
	}
	return st
}

func (s *server) stop() {
	s.in.Close()
	done := make(chan struct{})
	go func() {
		s.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

func dial(addr string) *gorilla.Conn {
	d := gorilla.Dialer{ReadBufferSize: 1024, WriteBufferSize: 1024, HandshakeTimeout: 10 * time.Second}
	scheme := "ws://"
	if useTLS() {
		d.TLSClientConfig, scheme = clientTLS, "wss://"
	}
	for try := 0; ; try++ {
		c, _, err := d.Dial(scheme+addr+"/", nil)
		if err == nil {
			return c
		}
		if try == 20 {
			panic(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// echo runs conns connections doing msgs round trips each; mark runs once
// they are connected, just before the clock starts.
func echo(addr string, conns, msgs, size int, mark func()) time.Duration {
	cs := make([]*gorilla.Conn, conns)
	for i := range cs {
		cs[i] = dial(addr)
	}
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = 'e'
	}
	var wg sync.WaitGroup
	mark()
	start := time.Now()
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(time.Minute))
			for range msgs {
				if err := c.WriteMessage(gorilla.BinaryMessage, payload); err != nil {
					panic(err)
				}
				if _, _, err := c.ReadMessage(); err != nil {
					panic(err)
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	for _, c := range cs {
		c.Close()
	}
	return d
}

// broadcast connects subs subscribers, publishes pubs messages and waits
// until every subscriber has received all of them. The publisher sends
// them back to back, or, paced, each only once its own copy of the last
// one is back (the server has then read that message alone and is done
// fanning it out), so that the server never reads two together.
func broadcast(addr string, subs, pubs, size int, paced bool, mark func()) time.Duration {
	cs := make([]*gorilla.Conn, subs)
	for i := range cs {
		cs[i] = dial(addr)
	}
	pub := dial(addr)
	payload := make([]byte, size)
	payload[0] = 'B'
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(time.Minute))
			for range pubs {
				if _, _, err := c.ReadMessage(); err != nil {
					panic(err)
				}
			}
		}()
	}
	echoed := make(chan struct{}, pubs)
	go func() {
		for {
			if _, _, err := pub.ReadMessage(); err != nil {
				return
			}
			echoed <- struct{}{}
		}
	}()
	mark()
	start := time.Now()
	for range pubs {
		pub.WriteMessage(gorilla.BinaryMessage, payload)
		if paced {
			<-echoed
		}
	}
	wg.Wait()
	d := time.Since(start)
	pub.Close()
	for _, c := range cs {
		c.Close()
	}
	return d
}

type result struct {
	rate         float64 // messages per second
	cpuRate      float64 // messages per server CPU-second
	allocs, sysc float64 // per message
}

func measure(n float64, d time.Duration, before, after stats) result {
	return result{
		rate:    n / d.Seconds(),
		cpuRate: n / (after.cpu - before.cpu).Seconds(),
		allocs:  float64(after.mallocs-before.mallocs) / n,
		sysc:    float64(after.syscalls-before.syscalls) / n,
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func run(rounds, conns, msgs, size, subs, pubs int) {
	fmt.Printf("echo: %d connections x %d round trips of %d bytes; broadcast: %d subscribers x %d messages of %d bytes, back to back and paced (one at a time); %d rounds\n",
		conns, msgs, size, subs, pubs, size, rounds)
	res := map[string]map[string][]result{"echo": {}, "broadcast": {}, "broadcast, paced": {}}
	for r := range rounds {
		order := append(slices.Clone(impls[r%len(impls):]), impls[:r%len(impls)]...)
		for _, impl := range order {
			s := startServer(impl)
			var before stats
			d := echo(s.addr, conns, msgs, size, func() { before = s.stats(false) })
			after := s.stats(false)
			res["echo"][impl] = append(res["echo"][impl], measure(float64(conns*msgs), d, before, after))
			for _, paced := range []bool{true, false} {
				test := "broadcast"
				if paced {
					test = "broadcast, paced"
				}
				d = broadcast(s.addr, subs, pubs, size, paced, func() { before = s.stats(false) })
				after = s.stats(false)
				res[test][impl] = append(res[test][impl], measure(float64(subs+1)*float64(pubs), d, before, after))
			}
			s.stop()
		}
		fmt.Printf("round %d done\n", r+1)
	}
	for _, test := range []string{"echo", "broadcast", "broadcast, paced"} {
		report(test, res[test])
	}
}

// report prints the medians of one test: rates, and the per-round ratios
// workerman/peer with their spread (lowest and highest round).
func report(test string, res map[string][]result) {
	fmt.Printf("\n%s (messages per second of wall time and per second of server CPU; server allocations and read/write syscalls per message)\n", test)
	fmt.Printf("%-10s %12s %14s %11s %13s %22s %22s\n", "server", "msg/s", "msg/CPU-s", "allocs/msg", "syscalls/msg", "ratio wm/x msg/s", "ratio wm/x msg/CPU-s")
	for _, impl := range impls {
		rs := res[impl]
		var rates, cpuRates, allocs, sysc, ratio, cpuRatio []float64
		for i, x := range rs {
			rates = append(rates, x.rate)
			cpuRates = append(cpuRates, x.cpuRate)
			allocs = append(allocs, x.allocs)
			sysc = append(sysc, x.sysc)
			ratio = append(ratio, res["workerman"][i].rate/x.rate)
			cpuRatio = append(cpuRatio, res["workerman"][i].cpuRate/x.cpuRate)
		}
		fmt.Printf("%-10s %12.0f %14.0f %11.2f %13.2f %22s %22s\n", impl, median(rates), median(cpuRates), median(allocs), median(sysc), spread(ratio), spread(cpuRatio))
	}
}

// spread formats the median of v with its lowest and highest value.
func spread(v []float64) string {
	return fmt.Sprintf("%.2f (%.2f-%.2f)", median(v), slices.Min(v), slices.Max(v))
}

// hold keeps n idle connections to addr open until stdin closes.
func hold(addr string, n int) {
	cs := make([]*gorilla.Conn, 0, n)
	for range n {
		cs = append(cs, dial(addr))
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range cs {
		c.Close()
	}
}

func idle(n, procs int) {
	fmt.Printf("memory of the server per idle connection, %d connections from %d client processes\n", n, procs)
	fmt.Printf("%-10s %16s %16s\n", "server", "RSS bytes/conn", "heap bytes/conn")
	for _, impl := range impls {
		s := startServer(impl)
		time.Sleep(200 * time.Millisecond)
		before := s.stats(true)
		var holders []*exec.Cmd
		var stdins []*os.File
		for p := range procs {
			k := n / procs
			if p == procs-1 {
				k = n - k*(procs-1)
			}
			cmd := exec.Command(os.Args[0], "hold", s.addr, strconv.Itoa(k))
			inR, inW, _ := os.Pipe()
			cmd.Stdin = inR
			out, _ := cmd.StdoutPipe()
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				panic(err)
			}
			inR.Close()
			holders = append(holders, cmd)
			stdins = append(stdins, inW)
			bufio.NewReader(out).ReadString('\n')
		}
		var after stats
		for range 100 {
			after = s.stats(true)
			if after.conns >= int64(n) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
		after = s.stats(true)
		fmt.Printf("%-10s %16.0f %16.0f   (connections seen: %d)\n", impl,
			float64(after.rss-before.rss)/float64(n), float64(after.heap-before.heap)/float64(n), after.conns)
		for i, h := range holders {
			stdins[i].Close()
			h.Wait()
		}
		s.stop()
	}
}
