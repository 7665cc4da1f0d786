package procstat

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc/PID/stat; Linux
// reports them in hundredths of a second on every architecture.
const clockTicks = 100

// Server is a server process started by Start.
type Server struct {
	// Name labels the server in messages.
	Name string
	// Addr is the address the server announced.
	Addr string
	// PID is the server's process id.
	PID int
	// Tree makes Sample add up the CPU time, system calls and memory of
	// the process and all its descendants (a master and its worker
	// processes), and leaves the Go heap figures at zero: a program run by
	// workerman.RunAll uses SIGUSR1 to reload, so it is not asked.
	Tree bool

	cmd    *exec.Cmd
	stats  chan string
	exited chan struct{}
	stderr *tailBuffer
}

// Start runs argv as a server process and waits until it announces its
// address (see Announce), at most ready long. If cpus is not empty and
// taskset is installed, the process is pinned to those CPUs (a taskset list
// such as "0" or "0,1"). The process is killed when ctx is cancelled.
func Start(ctx context.Context, name string, argv []string, cpus string, ready time.Duration) (*Server, error) {
	if len(argv) == 0 {
		return nil, errors.New("procstat: empty command")
	}
	if cpus != "" {
		ts, err := exec.LookPath("taskset")
		if err == nil {
			argv = append([]string{ts, "-c", cpus}, argv...)
		}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &Server{Name: name, cmd: cmd, stats: make(chan string, 4), exited: make(chan struct{}), stderr: &tailBuffer{max: 4096}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("procstat: start %s: %w", name, err)
	}
	s.PID = cmd.Process.Pid
	readyCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, readyPrefix):
				select {
				case readyCh <- strings.TrimPrefix(line, readyPrefix):
				default:
				}
			case strings.HasPrefix(line, statsPrefix):
				select {
				case s.stats <- strings.TrimPrefix(line, statsPrefix):
				default:
				}
			}
		}
		io.Copy(io.Discard, out)
		cmd.Wait()
		close(s.exited)
	}()
	t := time.NewTimer(ready)
	defer t.Stop()
	select {
	case s.Addr = <-readyCh:
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("procstat: %s exited before announcing its address: %s", name, s.stderr.String())
	case <-t.C:
		s.Stop()
		return nil, fmt.Errorf("procstat: %s did not announce its address within %v", name, ready)
	}
}

// Sample is a reading of a server's counters. Differences of two samples
// measure what happened between them.
type Sample struct {
	// At is when the sample was taken.
	At time.Time
	// CPU is user plus system CPU time of all the process's threads, with
	// a resolution of 10 ms.
	CPU time.Duration
	// ReadCalls and WriteCalls count read-like and write-like system calls
	// (syscr and syscw of /proc/PID/io).
	ReadCalls, WriteCalls int64
	// RSS is the resident set size in bytes.
	RSS int64
	// Mallocs, Frees and HeapInuse are the server's runtime.MemStats
	// figures of the same names; NumGC counts finished GC cycles.
	Mallocs, Frees, HeapInuse, HeapSys uint64
	NumGC                              uint64
}

// Sample reads the server's counters. It asks the server for its Go heap
// figures with SIGUSR1 and waits at most 5 s for the answer.
func (s *Server) Sample() (Sample, error) {
	var sm Sample
	// Drain an answer left over from an earlier, timed-out request.
	select {
	case <-s.stats:
	default:
	}
	if s.Tree {
		return SampleTree(s.PID), nil
	}
	if err := s.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return sm, fmt.Errorf("procstat: signal %s: %w", s.Name, err)
	}
	sm.At = time.Now()
	var err error
	if sm.CPU, err = readCPU(s.PID); err != nil {
		return sm, err
	}
	if sm.ReadCalls, sm.WriteCalls, err = readIO(s.PID); err != nil {
		return sm, err
	}
	if sm.RSS, err = readRSS(s.PID); err != nil {
		return sm, err
	}
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case line := <-s.stats:
		if err := parseStats(line, &sm); err != nil {
			return sm, fmt.Errorf("procstat: %s: %w", s.Name, err)
		}
	case <-s.exited:
		return sm, fmt.Errorf("procstat: %s exited: %s", s.Name, s.stderr.String())
	case <-t.C:
		return sm, fmt.Errorf("procstat: %s did not report its memory statistics within 5s (does it call procstat.ServeStats?)", s.Name)
	}
	return sm, nil
}

// Stop ends the server with SIGTERM, and SIGKILL if it is still running
// after 3 s.
func (s *Server) Stop() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(3 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("procstat: %s ignored SIGTERM and was killed", s.Name)
	}
}

// Stderr returns the last few kilobytes the server wrote to standard error.
func (s *Server) Stderr() string { return s.stderr.String() }

func parseStats(line string, sm *Sample) error {
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return fmt.Errorf("bad statistics field %q", f)
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("bad statistics field %q", f)
		}
		switch k {
		case "mallocs":
			sm.Mallocs = n
		case "frees":
			sm.Frees = n
		case "heapinuse":
			sm.HeapInuse = n
		case "heapsys":
			sm.HeapSys = n
		case "numgc":
			sm.NumGC = n
		}
	}
	return nil
}

// readCPU returns utime+stime of /proc/PID/stat.
func readCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	return parseStatCPU(b)
}

func parseStatCPU(b []byte) (time.Duration, error) {
	// The command name (field 2) may contain spaces and parentheses; the
	// fields after its closing parenthesis are plain.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("procstat: malformed /proc/PID/stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("procstat: short /proc/PID/stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("procstat: malformed CPU times in /proc/PID/stat")
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

func readIO(pid int) (r, w int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("procstat: %w", err)
	}
	r, err1 := procField(b, "syscr:")
	w, err2 := procField(b, "syscw:")
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, err
	}
	return r, w, nil
}

func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	kb, err := procField(b, "VmRSS:")
	return kb * 1024, err
}

// procField returns the first number after name in a "name: value" file.
func procField(b []byte, name string) (int64, error) {
	for line := range strings.Lines(string(b)) {
		rest, ok := strings.CutPrefix(line, name)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("procstat: no %q in /proc file", name)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// SampleTree sums the /proc figures of pid and its descendants (CPU time,
// read and write system calls, resident memory), for a process tree such
// as a master and its worker processes that is not started by Start. The
// Go heap figures stay zero. Processes that exit while it reads are left
// out.
func SampleTree(pid int) Sample {
	sm := Sample{At: time.Now()}
	for _, pid := range Descendants(pid) {
		cpu, err := readCPU(pid)
		if err != nil {
			continue // exited meanwhile
		}
		r, w, err := readIO(pid)
		if err != nil {
			continue
		}
		rss, _ := readRSS(pid)
		sm.CPU += cpu
		sm.ReadCalls += r
		sm.WriteCalls += w
		sm.RSS += rss
	}
	return sm
}

// Descendants returns pid followed by every process below it, children
// first, as /proc/PID/task/TID/children lists them.
func Descendants(pid int) []int {
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", out[i]))
		for _, t := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", out[i], t.Name()))
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// TreeCPU returns the CPU time of pid and its descendants to the
// nanosecond: the sum of the run times of all their threads, from
// /proc/PID/task/TID/schedstat. Sample's CPU counts in steps of 10 ms,
// too coarse for a measurement of a fraction of a second; TreeCPU instead
// leaves out threads that have exited, which a Go program's threads do
// not (the runtime keeps them). It returns 0 for a process without
// schedstat (a kernel without CONFIG_SCHED_INFO).
func TreeCPU(pid int) time.Duration {
	cpu, _ := TreeSchedstat(pid)
	return cpu
}

// TreeSchedstat returns TreeCPU's figure and the number of times the
// threads of pid and its descendants were switched onto a CPU (the third
// field of schedstat): a count of thread wake-ups and preemptions that,
// unlike time, hardly varies with the load on the machine.
func TreeSchedstat(pid int) (cpu time.Duration, switches int64) {
	for _, p := range Descendants(pid) {
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", p))
		for _, t := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", p, t.Name()))
			if err != nil {
				continue
			}
			run, n := parseSchedstat(b)
			cpu += run
			switches += n
		}
	}
	return cpu, switches
}

// parseSchedstat returns the first field of a schedstat file, the time
// spent running in nanoseconds, and the third, the number of times the
// thread was switched onto a CPU.
func parseSchedstat(b []byte) (time.Duration, int64) {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, 0
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || ns < 0 {
		return 0, 0
	}
	var n int64
	if len(f) >= 3 {
		if n, err = strconv.ParseInt(f[2], 10, 64); err != nil || n < 0 {
			n = 0
		}
	}
	return time.Duration(ns), n
}

// FreeAddr returns a loopback address whose port nobody listens on now,
// for a server that is told its address before it starts (a RunAll
// master and its worker processes cannot report a port the kernel chose).
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
