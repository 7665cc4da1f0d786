package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Processes of a row are this binary started again with a role as its
// first argument and the role's configuration as JSON in the second. They
// talk to the driver in lines on stdout that start with '@' ("@ready …",
// "@result {…}", "@error …"); other output is theirs (the workerman
// master's start table, logs) and is ignored. A role reads commands from
// stdin and ends when stdin closes.

// proc is a process the driver started.
type proc struct {
	name  string
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	tail  *tailBuffer
	done  chan struct{}
}

// self is the path of this binary, set by main (or TestMain).
var self string

// startProc runs this binary with a role and its configuration.
func startProc(name, role string, conf any) (*proc, error) {
	js, err := json.Marshal(conf)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, role, string(js))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// A binary built with -race (the tests') otherwise waits a second
	// before it exits.
	if os.Getenv("GORACE") == "" {
		cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, in: in, lines: make(chan string, 64), tail: &tailBuffer{max: 8192}, done: make(chan struct{})}
	cmd.Stderr = p.tail
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "@") {
				p.lines <- line
			}
		}
		io.Copy(io.Discard, out)
		cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// expect waits for the process's next protocol line, which must start with
// "@"+tag, and returns the rest of it.
func (p *proc) expect(tag string, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line := <-p.lines:
		if rest, ok := strings.CutPrefix(line, "@"+tag); ok {
			return strings.TrimSpace(rest), nil
		}
		return "", fmt.Errorf("%s: %s (expected @%s)%s", p.name, line, tag, p.stderrTail())
	case <-p.done:
		// The last lines may still be in the channel.
		select {
		case line := <-p.lines:
			if rest, ok := strings.CutPrefix(line, "@"+tag); ok {
				return strings.TrimSpace(rest), nil
			}
			return "", fmt.Errorf("%s: %s (expected @%s)%s", p.name, line, tag, p.stderrTail())
		default:
		}
		return "", fmt.Errorf("%s exited (%v) before @%s%s", p.name, p.cmd.ProcessState, tag, p.stderrTail())
	case <-t.C:
		return "", fmt.Errorf("%s: no @%s within %v%s", p.name, tag, timeout, p.stderrTail())
	}
}

// result waits for "@result" and decodes its JSON into v.
func (p *proc) result(v any, timeout time.Duration) error {
	s, err := p.expect("result", timeout)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(s), v)
}

func (p *proc) stderrTail() string {
	s := strings.TrimSpace(p.tail.String())
	if s == "" {
		return ""
	}
	return "\n--- " + p.name + " stderr ---\n" + s
}

// send writes a command line to the process.
func (p *proc) send(line string) error {
	_, err := io.WriteString(p.in, line+"\n")
	return err
}

// stop closes the process's stdin, sends it sig (0: none) and waits for it
// to exit, killing it after a while.
func (p *proc) stop(sig syscall.Signal) {
	p.in.Close()
	if sig != 0 {
		p.cmd.Process.Signal(sig)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// stopAll stops processes at the same time.
func stopAll(ps []*proc) {
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop(0)
		}()
	}
	wg.Wait()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// Role side.

// say prints a protocol line.
func say(tag string, v any) {
	switch x := v.(type) {
	case nil:
		fmt.Printf("@%s\n", tag)
	case string:
		fmt.Printf("@%s %s\n", tag, x)
	default:
		js, err := json.Marshal(x)
		if err != nil {
			fail(err)
		}
		fmt.Printf("@%s %s\n", tag, js)
	}
}

// fail reports an error to the driver and exits.
func fail(err error) {
	fmt.Printf("@error %v\n", err)
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// stdinLines returns the lines the driver writes; the channel closes when
// stdin does.
func stdinLines() <-chan string {
	ch := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			ch <- sc.Text()
		}
		close(ch)
	}()
	return ch
}

// raiseNofile sets the soft limit of open files to the hard limit.
func raiseNofile() {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err == nil && r.Cur < r.Max {
		r.Cur = r.Max
		unix.Setrlimit(unix.RLIMIT_NOFILE, &r)
	}
}

// waitListening waits until addr accepts connections.
func waitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not accept connections: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cpuTime returns the user+system CPU time of the processes pids, and of
// their descendants with tree set, from /proc.
func cpuTime(tree bool, pids ...int) time.Duration {
	if tree {
		pids = withDescendants(pids)
	}
	var total time.Duration
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		if d, err := parseStatCPU(b); err == nil {
			total += d
		}
	}
	return total
}

// ioCalls returns the read-like plus write-like system calls (syscr +
// syscw of /proc/PID/io) of the processes pids, and of their descendants
// with tree set.
func ioCalls(tree bool, pids ...int) int64 {
	if tree {
		pids = withDescendants(pids)
	}
	var total int64
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) == 2 && (f[0] == "syscr:" || f[0] == "syscw:") {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				total += n
			}
		}
	}
	return total
}

// parseStatCPU reads utime+stime (fields 14 and 15, in 1/100 s) from the
// text of /proc/PID/stat.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("no ')' in stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime is f[11], stime f[12].
	if len(f) < 13 {
		return 0, errors.New("short stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bad stat times")
	}
	return time.Duration(u+s) * 10 * time.Millisecond, nil
}

// parentPID reads field 4 of /proc/PID/stat.
func parentPID(b []byte) int {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// withDescendants adds every descendant of pids.
func withDescendants(pids []int) []int {
	ents, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			parent[pid] = parentPID(b)
		}
	}
	in := map[int]bool{}
	for _, p := range pids {
		in[p] = true
	}
	for changed := true; changed; {
		changed = false
		for pid, pp := range parent {
			if in[pp] && !in[pid] {
				in[pid] = true
				changed = true
			}
		}
	}
	out := make([]int, 0, len(in))
	for p := range in {
		out = append(out, p)
	}
	return out
}

// window is what a measured window took from the relay (the server under
// test) and the client processes.
type window struct {
	relayCPU, clientCPU time.Duration
	relayIO             int64
}

// measureWindow waits until every client is ready, starts them together
// with the warm-up and measured window they are to use, and reads the CPU
// time and system calls of the relay and the clients over the window.
func measureWindow(clients []*proc, relayPID int, warmup, duration time.Duration) (window, error) {
	var pids []int
	for _, c := range clients {
		if _, err := c.expect("ready", 20*time.Second); err != nil {
			return window{}, err
		}
		pids = append(pids, c.cmd.Process.Pid)
	}
	start := time.Now().Add(200 * time.Millisecond)
	warm := start.Add(warmup)
	end := warm.Add(duration)
	for _, c := range clients {
		if err := c.send(fmt.Sprintf("go %d %d %d", start.UnixNano(), warm.UnixNano(), end.UnixNano())); err != nil {
			return window{}, err
		}
	}
	time.Sleep(time.Until(warm))
	relay0, clients0, io0 := cpuTime(false, relayPID), cpuTime(false, pids...), ioCalls(false, relayPID)
	time.Sleep(time.Until(end))
	relay1, clients1, io1 := cpuTime(false, relayPID), cpuTime(false, pids...), ioCalls(false, relayPID)
	return window{relayCPU: relay1 - relay0, clientCPU: clients1 - clients0, relayIO: io1 - io0}, nil
}

// awaitGo tells the harness this client is ready and waits for its "go"
// line with the start, warm-up and end times (Unix nanoseconds); ok is
// false when the harness went away first. cmds carries the lines after it.
func awaitGo() (cmds <-chan string, start, warm, end int64, ok bool) {
	say("ready", nil)
	cmds = stdinLines()
	line, ok := <-cmds
	if !ok {
		return cmds, 0, 0, 0, false
	}
	if _, err := fmt.Sscan(strings.TrimPrefix(line, "go "), &start, &warm, &end); err != nil {
		fail(fmt.Errorf("bad command %q", line))
	}
	return cmds, start, warm, end, true
}
