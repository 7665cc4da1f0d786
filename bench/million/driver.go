package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/workerman-go/workerman/bench/loadgen/procstat"
)

type config struct {
	conns, serverProcs, clientProcs, sources, window, rounds int
	timeout                                                  time.Duration
}

// result is one server measured once.
type result struct {
	server       string
	conns        int
	failed       int
	connectRate  float64 // connections per second, first connect to last handshake
	rssPerConn   float64 // bytes of server RSS per connection
	sockPerConn  float64 // bytes of kernel TCP memory per connection (both ends)
	slabPerConn  float64 // bytes of kernel slab per connection (both ends)
	broadcast    time.Duration
	broadcastGot int
}

func runMain(args []string, compare bool) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	var c config
	fs.IntVar(&c.conns, "conns", 50000, "connections")
	fs.IntVar(&c.serverProcs, "server-procs", 4, "server processes (each holds conns/server-procs; at most ~19,000 each)")
	fs.IntVar(&c.clientProcs, "client-procs", 4, "client processes (each opens conns/client-procs)")
	fs.IntVar(&c.sources, "sources", 40, "loopback source addresses 127.0.1.1 … for the clients")
	fs.IntVar(&c.window, "window", 256, "connections each client opens at once")
	fs.IntVar(&c.rounds, "rounds", 3, "compare: rounds, alternating the servers")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "limit for opening the connections")
	fs.Parse(args)
	if c.conns/c.serverProcs > 19000 || c.conns/c.clientProcs > 19000 {
		return fmt.Errorf("%d connections need at least %d server and client processes (20,000 open files each)", c.conns, (c.conns+18999)/19000)
	}
	restore := tuneKernel()
	defer restore()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; restore(); os.Exit(1) }()

	fmt.Printf("million: %d WebSocket connections, %d server processes, %d client processes from %d source addresses; %s\n\n",
		c.conns, c.serverProcs, c.clientProcs, c.sources, time.Now().UTC().Format(time.RFC3339))
	if !compare {
		r, err := measure(c, "ours")
		if err != nil {
			return err
		}
		printResults([]result{r})
		return nil
	}
	var all []result
	for round := 0; round < c.rounds; round++ {
		order := []string{"ours", "gws"}
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, s := range order {
			r, err := measure(c, s)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", round+1, s, err)
			}
			fmt.Printf("round %d %-4s %8.0f conn/s  %6.0f B RSS/conn  %5.0f B socket mem/conn\n", round+1, s, r.connectRate, r.rssPerConn, r.sockPerConn)
			all = append(all, r)
		}
	}
	fmt.Println()
	printResults(all)
	var rate, rss []float64
	for i := 0; i+1 < len(all); i += 2 {
		o, g := all[i], all[i+1]
		if o.server != "ours" {
			o, g = g, o
		}
		rate = append(rate, o.connectRate/g.connectRate)
		rss = append(rss, o.rssPerConn/g.rssPerConn)
	}
	fmt.Printf("\nmedian same-round ratio ours/gws: connect rate %.2f (spread %.2f-%.2f), RSS per connection %.3f (spread %.3f-%.3f)\n",
		median(rate), slices.Min(rate), slices.Max(rate), median(rss), slices.Min(rss), slices.Max(rss))
	return nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func printResults(rs []result) {
	fmt.Println("| server | connections | failed | connect rate (conn/s) | server RSS per conn | kernel TCP mem per conn | kernel slab per conn | push to all |")
	fmt.Println("|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rs {
		b := "-"
		if r.broadcastGot > 0 {
			b = fmt.Sprintf("%v (%d got it)", r.broadcast.Round(time.Millisecond), r.broadcastGot)
		}
		fmt.Printf("| %s | %d | %d | %.0f | %.0f B | %.0f B | %.0f B | %s |\n", r.server, r.conns, r.failed, r.connectRate, r.rssPerConn, r.sockPerConn, r.slabPerConn, b)
	}
}

// proc is a started process and the lines it printed.
type proc struct {
	cmd   *exec.Cmd
	lines chan string
	stdin io.WriteCloser
}

func start(args []string, env []string) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, lines: make(chan string, 16), stdin: in}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	return p, nil
}

// expect waits for a line starting with prefix.
func (p *proc) expect(prefix string, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				return "", fmt.Errorf("process ended before saying %s", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l, nil
			}
		case <-t.C:
			return "", fmt.Errorf("no %s within %v", prefix, timeout)
		}
	}
}

func (p *proc) stop() {
	p.stdin.Close()
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 20000 + os.Getpid()%10000
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// measure starts server s, opens the connections, reads the figures and
// stops everything.
func measure(c config, s string) (result, error) {
	r := result{server: s}
	port := freePort()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var servers []*proc
	defer func() {
		for _, p := range servers {
			p.stop()
		}
	}()
	ctlPort := freePort()
	switch s {
	case "ours":
		dir, err := os.MkdirTemp("", "million-")
		if err != nil {
			return r, err
		}
		defer os.RemoveAll(dir)
		p, err := start(nil, []string{"MILLION_ROLE=ours", "MILLION_DIR=" + dir, "MILLION_ADDR=" + addr,
			"MILLION_PROCS=" + strconv.Itoa(c.serverProcs), "MILLION_CTL_PORT=" + strconv.Itoa(ctlPort),
			"MILLION_CHANNEL_PORT=" + strconv.Itoa(freePort())})
		if err != nil {
			return r, err
		}
		servers = append(servers, p)
		if _, err := p.expect("READY", time.Minute); err != nil {
			return r, fmt.Errorf("server: %w", err)
		}
	case "gws":
		for i := 0; i < c.serverProcs; i++ {
			p, err := start(nil, []string{"MILLION_ROLE=gws", "MILLION_ADDR=" + addr})
			if err != nil {
				return r, err
			}
			servers = append(servers, p)
			if _, err := p.expect("READY", time.Minute); err != nil {
				return r, fmt.Errorf("server: %w", err)
			}
		}
	}
	serverRSS := func() int64 {
		var sum int64
		for _, p := range servers {
			for _, pid := range procstat.Descendants(p.cmd.Process.Pid) {
				sum += rssOf(pid)
			}
		}
		return sum
	}
	time.Sleep(500 * time.Millisecond)
	rss0, sock0, slab0 := serverRSS(), tcpMem(), slabBytes()

	var srcs []string
	for i := 1; i <= c.sources; i++ {
		srcs = append(srcs, fmt.Sprintf("127.0.1.%d", i))
	}
	var clients []*proc
	defer func() {
		for _, p := range clients {
			p.stop()
		}
	}()
	for i := 0; i < c.clientProcs; i++ {
		n := c.conns / c.clientProcs
		if i < c.conns%c.clientProcs {
			n++
		}
		p, err := start([]string{"client", "-addr", addr, "-n", strconv.Itoa(n), "-src", strings.Join(srcs, ","), "-window", strconv.Itoa(c.window)}, nil)
		if err != nil {
			return r, err
		}
		clients = append(clients, p)
	}
	var first, last int64
	for _, p := range clients {
		l, err := p.expect("OPEN", c.timeout)
		if err != nil {
			return r, fmt.Errorf("client: %w", err)
		}
		f := strings.Fields(l)
		n, _ := strconv.Atoi(f[1])
		bad, _ := strconv.Atoi(f[2])
		t0, _ := strconv.ParseInt(f[3], 10, 64)
		t1, _ := strconv.ParseInt(f[4], 10, 64)
		r.conns += n
		r.failed += bad
		if first == 0 || t0 < first {
			first = t0
		}
		last = max(last, t1)
	}
	if r.conns == 0 {
		return r, fmt.Errorf("no connection opened")
	}
	r.connectRate = float64(r.conns) / (float64(last-first) / 1e9)
	time.Sleep(2 * time.Second) // let the servers settle
	r.rssPerConn = float64(serverRSS()-rss0) / float64(r.conns)
	r.sockPerConn = float64(tcpMem()-sock0) / float64(r.conns)
	r.slabPerConn = float64(slabBytes()-slab0) / float64(r.conns)

	if s == "ours" {
		ctl, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ctlPort), 5*time.Second)
		if err != nil {
			return r, err
		}
		defer ctl.Close()
		ctl.SetDeadline(time.Now().Add(time.Minute))
		ctl.Write([]byte("all\n"))
		line, err := bufio.NewReader(ctl).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "sent ") {
			return r, fmt.Errorf("control: %q %v", line, err)
		}
		sent, _ := strconv.ParseInt(strings.TrimSpace(line[5:]), 10, 64)
		var lastRecv int64
		for _, p := range clients {
			l, err := p.expect("RECV", time.Minute)
			if err != nil {
				return r, fmt.Errorf("client: %w", err)
			}
			f := strings.Fields(l)
			n, _ := strconv.Atoi(f[1])
			t, _ := strconv.ParseInt(f[2], 10, 64)
			r.broadcastGot += n
			lastRecv = max(lastRecv, t)
		}
		r.broadcast = time.Duration(lastRecv - sent)
	}
	return r, nil
}
