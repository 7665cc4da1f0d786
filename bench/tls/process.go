package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/workerman-go/workerman/bench/loadgen/procstat"
)

// The driver's side of the server processes: starting them, reading their
// counters and stopping them.

// server is a running server process (or, for workerman2, process tree).
type server struct {
	name string
	addr string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	// tree: the server is workerman2, a RunAll master and its worker
	// processes, measured from /proc; dir holds its pid file, log and
	// start marks; exited is closed when the master has been waited for.
	tree   bool
	dir    string
	exited chan struct{}
}

// stats are a server's counters; mallocs is -1 where unknown (a tree).
// switches counts the times the server's threads were switched onto a CPU
// (schedstat).
type stats struct{ mallocs, syscalls, cpuMicros, switches int64 }

func (s *server) stats() (stats, error) {
	if s.tree {
		select {
		case <-s.exited:
			return stats{}, fmt.Errorf("%s: the master process exited", s.name)
		default:
		}
		// The CPU time (to the nanosecond, as getrusage gives the single
		// processes theirs) and the read and write system calls of the
		// master and its worker processes; allocations cannot be added
		// up across processes.
		pid := s.cmd.Process.Pid
		sm := procstat.SampleTree(pid)
		cpu, sw := procstat.TreeSchedstat(pid)
		return stats{-1, sm.ReadCalls + sm.WriteCalls, cpu.Microseconds(), sw}, nil
	}
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
	_, sw := procstat.TreeSchedstat(s.cmd.Process.Pid)
	return stats{m, r + w, cpu, sw}, nil
}

// perOp is the difference of a counter divided by ops, NaN if unknown.
func perOp(before, after int64, ops int) float64 {
	if before < 0 || after < 0 {
		return math.NaN()
	}
	return float64(after-before) / float64(ops)
}

func start(name, cert, key string) (*server, error) {
	if name == "workerman2" {
		return startTree(name, cert, key)
	}
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
		s.stop()
		return nil, fmt.Errorf("%s did not start: %q %v", name, line, err)
	}
	s.addr = strings.TrimSpace(line[5:])
	return s, nil
}

// startTree starts workerman2 on a free port in a process group of its
// own and waits until every worker process has started. The master gets
// SIGTERM if the driver dies, and stops its worker processes then.
func startTree(name, cert, key string) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := procstat.FreeAddr()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "wm-bench-tls-tree-")
	if err != nil {
		return nil, err
	}
	// The master's own output (the start table, its log lines) goes to a
	// file, shown if the start fails.
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(self, "-serve", name, "-addr", addr, "-dir", dir, "-cert", cert, "-key", key, "-cpuprofile", *profile, "-memprofile", *memProfile)
	cmd.Stdout = out
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &server{name: name, addr: addr, cmd: cmd, tree: true, dir: dir, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(s.exited) }()
	if err := s.waitStarted(treeCount, 20*time.Second); err != nil {
		s.stop()
		b, _ := os.ReadFile(out.Name())
		return nil, fmt.Errorf("%s: %w\n%s", name, err, b)
	}
	return s, nil
}

// waitStarted waits until n worker processes have marked themselves
// started in s.dir, so that the load meets every process.
func (s *server) waitStarted(n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		all := true
		for id := 0; id < n; id++ {
			if _, err := os.Stat(filepath.Join(s.dir, "started."+strconv.Itoa(id))); err != nil {
				all = false
			}
		}
		if all {
			return nil
		}
		select {
		case <-s.exited:
			return errors.New("the master process exited while starting")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the worker processes did not all start within %v", timeout)
		}
	}
}

// stop ends the server: a single process when its input closes, a tree
// when its master gets SIGTERM (the master stops its worker processes).
// What has not ended after 10 s is killed, for a tree every process left
// in its process group.
func (s *server) stop() {
	if !s.tree {
		s.in.Close()
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
		return
	}
	defer os.RemoveAll(s.dir)
	pgid := s.cmd.Process.Pid
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		fmt.Fprintf(os.Stderr, "%s: the master did not stop within 10s; killing its process group\n", s.name)
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.exited
	}
	// A process group keeps its id (no new process gets it) while any
	// member lives: a worker process still running after its master is
	// in the group, and nothing else is.
	for deadline := time.Now().Add(5 * time.Second); syscall.Kill(-pgid, 0) == nil; {
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "%s: worker processes outlived their master; killing them\n", s.name)
			syscall.Kill(-pgid, syscall.SIGKILL)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}
