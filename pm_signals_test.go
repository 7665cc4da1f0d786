//go:build linux

package workerman_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
)

// Signals, as signals.go documents them: each signal the master and the
// worker processes honour, sent with kill as an operator would; and the
// exit statuses that status shows for processes that end on their own.

// pmExits returns the exit table of a worker: status -> count.
func pmExits(t *testing.T, s *svc, worker string) map[int]int {
	t.Helper()
	m := map[int]int{}
	for _, w := range s.status().Workers {
		if w.Name == worker {
			for _, e := range w.Exits {
				m[e.Status] = e.Count
			}
		}
	}
	return m
}

// pmInFlight sends a request that is answered only once its process
// stops, and returns a channel with the reply; the connection is closed
// once the reply has come, so that a graceful stop need not wait for it.
func pmInFlight(t *testing.T, s *svc) <-chan string {
	t.Helper()
	c, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	c.Write([]byte("untilstop 200\n"))
	got := make(chan string, 1)
	go func() {
		r, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			r = "error: " + err.Error()
		}
		c.Close()
		got <- strings.TrimSpace(r)
	}()
	return got
}

func testMasterSignals(t *testing.T, bins pmBins) {
	kill := func(t *testing.T, s *svc, sig syscall.Signal) int {
		t.Helper()
		mp := pmMasterPid(t, s)
		if err := syscall.Kill(mp, sig); err != nil {
			t.Fatal(err)
		}
		return mp
	}
	gone := func(t *testing.T, mp int) {
		t.Helper()
		pmWaitFor(t, "the master to exit", 30*time.Second, func() bool { return !pmAlive(mp) })
	}
	// SIGTERM stops at once: a request in flight is cut.
	t.Run("TERM", func(t *testing.T) {
		s := newSvc(t, bins.v1)
		s.startDaemon()
		procs := pmWorkerProcs(s.status(), "svc")
		reply := pmInFlight(t, s)
		time.Sleep(100 * time.Millisecond)
		gone(t, kill(t, s, syscall.SIGTERM))
		if r := <-reply; !strings.HasPrefix(r, "error") {
			t.Errorf("request in flight got %q, want the connection closed", r)
		}
		for _, pid := range procs {
			if pmAlive(pid) {
				t.Errorf("process %d survived", pid)
			}
		}
		if log := s.read("svc.log"); !strings.Contains(log, "is stopping") || !strings.Contains(log, "has been stopped") {
			t.Errorf("log:\n%s", log)
		}
	})
	// SIGQUIT stops gracefully: a request in flight is answered.
	t.Run("QUIT", func(t *testing.T) {
		s := newSvc(t, bins.v1, "SVC_GRACE_MS=20000")
		s.startDaemon()
		reply := pmInFlight(t, s)
		time.Sleep(100 * time.Millisecond)
		mp := kill(t, s, syscall.SIGQUIT)
		if r := <-reply; !strings.HasPrefix(r, "slept ") {
			t.Errorf("request in flight got %q, want its answer", r)
		}
		gone(t, mp)
		if log := s.read("svc.log"); !strings.Contains(log, "is gracefully stopping") {
			t.Errorf("log:\n%s", log)
		}
	})
	// SIGUSR1 reloads, SIGUSR2 reloads gracefully: new processes, the
	// request in flight on an old one answered.
	for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2} {
		t.Run(map[syscall.Signal]string{syscall.SIGUSR1: "USR1", syscall.SIGUSR2: "USR2"}[sig], func(t *testing.T) {
			s := newSvc(t, bins.v1)
			s.startDaemon()
			before := pmWorkerProcs(s.status(), "svc")
			s.install(bins.v2)
			reply := pmInFlight(t, s)
			time.Sleep(100 * time.Millisecond)
			kill(t, s, sig)
			if r := <-reply; !strings.HasPrefix(r, "slept ") {
				t.Errorf("request in flight got %q, want its answer", r)
			}
			pmWaitFor(t, "new processes", 30*time.Second, func() bool {
				after := pmWorkerProcs(s.status(), "svc")
				return len(after) == 2 && after[0] != before[0] && after[1] != before[1]
			})
			if p := pmParsePong(t, s.mustAsk("ping")); p.version != "v2" {
				t.Errorf("after the reload: %+v", p)
			}
			want := "reloading"
			if sig == syscall.SIGUSR2 {
				want = "reloading gracefully"
			}
			if log := s.read("svc.log"); !strings.Contains(log, want) {
				t.Errorf("log lacks %q:\n%s", want, log)
			}
		})
	}
	// SIGTSTP (Ctrl-Z) suspends, as in the manual's 3.x; the commands say
	// so, and SIGCONT resumes. SIGIO is ignored.
	t.Run("TSTP and IO", func(t *testing.T) {
		// In the foreground: the kernel discards SIGTSTP sent to a daemon
		// (its process group is orphaned), as for any daemon.
		s := newSvc(t, bins.v1)
		f := s.startForeground(true)
		mp := f.cmd.Process.Pid
		syscall.Kill(mp, syscall.SIGTSTP)
		pmWaitFor(t, "the master to be suspended", 10*time.Second, func() bool { return pmState(mp) == "T" })
		if out, code := s.run("status"); code != workerman.ExitFailure || !strings.Contains(out, "suspended") {
			t.Errorf("status of a suspended master: exit %d\n%s", code, out)
		}
		syscall.Kill(mp, syscall.SIGCONT)
		syscall.Kill(mp, syscall.SIGIO)
		time.Sleep(200 * time.Millisecond)
		if !pmAlive(mp) || pmState(mp) == "T" {
			t.Fatal("the master did not resume, or SIGIO ended it")
		}
		if r := s.status(); r.MasterPid != mp || len(r.Processes) != 2 {
			t.Errorf("after SIGCONT and SIGIO: %+v", r)
		}
		s.must("stop")
		f.wait(t)
	})
}

// pmState returns a process's state letter (R, S, T, Z ...).
func pmState(pid int) string {
	f := strings.Fields(pmStat(pid))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func testWorkerSignals(t *testing.T, bins pmBins) {
	// SIGTERM stops that process at once, SIGQUIT gracefully; the master
	// starts another with the same id (exit status 0 in the table).
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			s := newSvc(t, bins.v1, "SVC_COUNT=1")
			s.startDaemon()
			victim := pmWorkerProcs(s.status(), "svc")[0]
			reply := pmInFlight(t, s)
			time.Sleep(100 * time.Millisecond)
			syscall.Kill(victim, sig)
			r := <-reply
			if graceful := sig == syscall.SIGQUIT; graceful != strings.HasPrefix(r, "slept ") {
				t.Errorf("request in flight got %q after %v", r, sig)
			}
			pmWaitFor(t, "a new process", 20*time.Second, func() bool {
				p := pmWorkerProcs(s.status(), "svc")
				return p[0] != 0 && p[0] != victim
			})
			if e := pmExits(t, s, "svc"); e[0] != 1 {
				t.Errorf("exit table %v, want one exit with status 0", e)
			}
		})
	}
	// SIGUSR1 and SIGUSR2 replace that process as a reload would: the new
	// one accepts before the old one stops, which answers what it was
	// asked.
	for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2} {
		t.Run(sig.String(), func(t *testing.T) {
			s := newSvc(t, bins.v1, "SVC_COUNT=1")
			s.startDaemon()
			victim := pmWorkerProcs(s.status(), "svc")[0]
			s.install(bins.v2)
			reply := pmInFlight(t, s)
			l := pmStartLoad(s.addr(), 2, nil)
			time.Sleep(100 * time.Millisecond)
			syscall.Kill(victim, sig)
			if r := <-reply; !strings.HasPrefix(r, "slept ") {
				t.Errorf("request in flight got %q", r)
			}
			pmWaitFor(t, "the new process", 20*time.Second, func() bool {
				p := pmWorkerProcs(s.status(), "svc")
				return p[0] != 0 && p[0] != victim
			})
			time.Sleep(100 * time.Millisecond)
			l.finish()
			l.check(t, "load", "v2")
			if log := s.read("svc.log"); strings.Contains(log, "UNEXPECTED") || !strings.Contains(log, "replacing a process on its signal") {
				t.Errorf("log:\n%s", log)
			}
		})
	}
	// SIGINT and SIGHUP (the terminal's) are the master's business: a
	// worker process ignores them, and SIGIO.
	t.Run("INT HUP IO", func(t *testing.T) {
		s := newSvc(t, bins.v1, "SVC_COUNT=1")
		s.startDaemon()
		pid := pmWorkerProcs(s.status(), "svc")[0]
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP, syscall.SIGIO} {
			syscall.Kill(pid, sig)
		}
		time.Sleep(300 * time.Millisecond)
		if p := pmParsePong(t, s.mustAsk("ping")); p.pid != pid {
			t.Errorf("served by %d, want %d", p.pid, pid)
		}
	})
	// SIGABRT keeps Go's meaning: every goroutine's stack to standard
	// error, exit status 2 (512 in the table).
	t.Run("ABRT", func(t *testing.T) {
		s := newSvc(t, bins.v1, "SVC_COUNT=1")
		s.startDaemon()
		pid := pmWorkerProcs(s.status(), "svc")[0]
		syscall.Kill(pid, syscall.SIGABRT)
		pmWaitFor(t, "the exit in the table", 20*time.Second, func() bool { return pmExits(t, s, "svc")[512] == 1 })
		if out := s.read("stdout.log"); !strings.Contains(out, "SIGABRT") || !strings.Contains(out, "goroutine ") {
			t.Errorf("no stack dump in StdoutFile:\n%s", out)
		}
	})
}

// With CrashOnPanic, a callback that panics and one that calls os.Exit
// end their process with the exit status that status shows: 512 for a
// panic (exit code 2), the code × 256 for os.Exit.
func testExitStatuses(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1, "SVC_COUNT=1", "SVC_CRASH_ON_PANIC=1")
	s.startDaemon()
	for _, tc := range []struct {
		req    string
		status int
	}{{"panic", 512}, {"exit 1", 256}, {"exit 3", 768}} {
		pid := pmWorkerProcs(s.status(), "svc")[0]
		c, err := net.Dial("tcp", s.addr())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(tc.req + "\n"))
		c.Close()
		pmWaitFor(t, tc.req+" in the exit table", 20*time.Second, func() bool { return pmExits(t, s, "svc")[tc.status] == 1 })
		pmWaitFor(t, "a new process", 20*time.Second, func() bool {
			p := pmWorkerProcs(s.status(), "svc")
			return p[0] != 0 && p[0] != pid
		})
		if log := s.read("svc.log"); !strings.Contains(log, fmt.Sprintf("worker_pid=%d status=%d", pid, tc.status)) {
			t.Errorf("log lacks the exit of %d with status %d:\n%s", pid, tc.status, log)
		}
	}
	text := s.must("status")
	for _, want := range []string{"svc          256              1", "svc          512              1", "svc          768              1"} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}
	if out := s.read("stdout.log"); !strings.Contains(out, "panic: svc: panic on request") {
		t.Errorf("the panic is not in StdoutFile:\n%s", out)
	}
}
