//go:build linux

package workerman_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
)

// Supervision: processes that die, stop and stop -g, the stop timeout, a
// master that is killed, processes run as another user.

func testKillChild(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	before := pmWorkerProcs(s.status(), "svc")
	victim := before[1]
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	pmWaitFor(t, "WORKER EXIT UNEXPECTED in the log", 10*time.Second, func() bool {
		return strings.Contains(s.read("svc.log"), "WORKER EXIT UNEXPECTED")
	})
	log := s.read("svc.log")
	if !strings.Contains(log, "status=9") || !strings.Contains(log, fmt.Sprintf("worker_pid=%d", victim)) {
		t.Errorf("log:\n%s", log)
	}
	var after map[int]int
	pmWaitFor(t, "a replacement with id 1", 20*time.Second, func() bool {
		after = pmWorkerProcs(s.status(), "svc")
		return after[1] != 0 && after[1] != victim
	})
	if after[0] != before[0] {
		t.Errorf("id 0 changed from %d to %d", before[0], after[0])
	}
	r := s.status()
	var exits []workerman.ExitCount
	for _, w := range r.Workers {
		if w.Name == "svc" {
			exits = w.Exits
		}
	}
	if len(exits) != 1 || exits[0].Status != 9 || exits[0].Signal != 9 || exits[0].Count != 1 {
		t.Errorf("exit table %+v, want one exit with status 9", exits)
	}
	text := s.must("status")
	if !strings.Contains(text, "svc          9                1") {
		t.Errorf("status does not show the exit:\n%s", text)
	}
	// The replacement serves.
	seen := map[int]bool{}
	for i := 0; i < 50 && len(seen) < 2; i++ {
		seen[pmParsePong(t, s.mustAsk("ping")).pid] = true
	}
	if seen[victim] {
		t.Error("the killed process answered")
	}
}

func testStopAllInChild(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1, "SVC_COUNT=1")
	s.startDaemon()
	before := pmWorkerProcs(s.status(), "svc")[0]
	c, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("stopall\n"))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 10)); err == nil {
		t.Error("the connection stayed open after StopAll")
	}
	c.Close()
	pmWaitFor(t, "a fresh process", 20*time.Second, func() bool {
		r, err := s.ask("ping")
		return err == nil && pmParsePong(t, r).pid != before
	})
	if p := pmParsePong(t, s.mustAsk("ping")); p.id != 0 {
		t.Errorf("new process has id %d", p.id)
	}
	if log := s.read("svc.log"); !strings.Contains(log, "WORKER EXIT UNEXPECTED") || !strings.Contains(log, "status=0") {
		t.Errorf("log:\n%s", log)
	}
}

func testStopGraceful(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	mp := pmMasterPid(t, s)
	c, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	// The reply comes only once the process is stopping, and 300 ms after
	// that: the request is in flight when the stop arrives, however long
	// the stop takes to arrive on a loaded machine.
	c.Write([]byte("untilstop 300\n"))
	time.Sleep(100 * time.Millisecond) // the request has been read
	type result struct {
		out  string
		code int
	}
	stopped := make(chan result, 1)
	go func() {
		out, code := s.run("stop", "-g")
		stopped <- result{out, code}
	}()
	// New connections are refused while the old ones finish.
	pmWaitFor(t, "the port to close", 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", s.addr(), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(reply, "slept ") || !strings.Contains(reply, "stopping=true") {
		t.Fatalf("in-flight request: %q %v", reply, err)
	}
	select {
	case <-stopped:
		t.Fatal("stop -g finished while a connection was still open")
	default:
	}
	c.Close()
	r := <-stopped
	if r.code != 0 || !strings.Contains(r.out, "is gracefully stopping") || !strings.Contains(r.out, "stop success") {
		t.Errorf("stop -g: exit %d\n%s", r.code, r.out)
	}
	if pmAlive(mp) {
		t.Error("master still alive")
	}
}

func testStopFast(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	c, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	c.Write([]byte("sleep 10000\n"))
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	out := s.must("stop")
	if !strings.Contains(out, "stop success") {
		t.Errorf("stop: %s", out)
	}
	// stop closes connections at once, unlike stop -g.
	if reply, err := bufio.NewReader(c).ReadString('\n'); err == nil {
		t.Errorf("got %q after stop; want the connection closed", reply)
	}
	t.Logf("stop with a pending request took %v", time.Since(start))
}

func testUser(t *testing.T, bins pmBins) {
	if os.Getuid() != 0 {
		t.Skip("needs root to start processes as another user")
	}
	s := newSvc(t, bins.v1, "SVC_USER=nobody")
	out := s.startDaemon()
	if !strings.Contains(out, "nobody") {
		t.Errorf("start table does not show the user:\n%s", out)
	}
	if r := s.mustAsk("whoami"); r != "uid 65534" {
		t.Errorf("whoami: %q", r)
	}
	s.must("stop")
}

// A process that does not stop within StopTimeout is killed.
func testStopTimeoutKills(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1, "SVC_STOP_MS=300", "SVC_COUNT=1")
	s.startDaemon()
	pid := pmWorkerProcs(s.status(), "svc")[0]
	c, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("block 30000\n"))
	time.Sleep(200 * time.Millisecond)
	out := s.must("stop")
	if !strings.Contains(out, "stop success") {
		t.Errorf("stop: %s", out)
	}
	if pmAlive(pid) {
		t.Error("the blocked process survived the stop")
	}
	if log := s.read("svc.log"); !strings.Contains(log, "did not stop in time") {
		t.Errorf("log:\n%s", log)
	}
}

// When the master dies (kill -9), its processes notice and stop, and the
// pid file it leaves is recognised as stale.
func testMasterKilled(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	procs := pmWorkerProcs(s.status(), "svc")
	mp := pmMasterPid(t, s)
	if err := syscall.Kill(mp, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, pid := range procs {
		pmWaitFor(t, "worker processes to stop after the master died", 20*time.Second, func() bool { return !pmAlive(pid) })
	}
	pmWaitFor(t, "the master to be gone", 10*time.Second, func() bool { return !pmAlive(mp) })
	out, code := s.run("status")
	if code != workerman.ExitNotRunning || !strings.Contains(out, "stale") {
		t.Errorf("status after the master was killed: exit %d\n%s", code, out)
	}
	s.startDaemon()
	pmParsePong(t, s.mustAsk("ping"))
	s.must("stop")
}

// OnWorkerStop runs in every process that stops: on stop, stop -g,
// reload (in the processes that retire, after OnWorkerReload) and StopAll.
// A worker that is not Reloadable only runs OnWorkerReload on reload.
func testOnWorkerStop(t *testing.T, bins pmBins) {
	events := func(s *svc) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s.read("events"), "\n") {
			if l != "" {
				m[l] = true
			}
		}
		return m
	}
	for _, tc := range []struct {
		name string
		do   func(*svc)
	}{
		{"stop", func(s *svc) { s.must("stop") }},
		{"stop -g", func(s *svc) { s.must("stop", "-g") }},
		{"reload", func(s *svc) { s.must("reload") }},
		{"StopAll", func(s *svc) {
			c, err := net.Dial("tcp", s.addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("stopall\n"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keepPort := pmFreePort(t)
			s := newSvc(t, bins.v1, fmt.Sprintf("SVC_KEEP_ADDR=text://127.0.0.1:%d", keepPort))
			s.env = append(s.env, "SVC_EVENTS="+filepath.Join(s.dir, "events"))
			s.startDaemon()
			r := s.status()
			procs := pmWorkerProcs(r, "svc")
			keeper := pmWorkerProcs(r, "keeper")[0]
			tc.do(s)
			want := []string{}
			switch tc.name {
			case "StopAll":
				// The process that called it; one of the two.
				pmWaitFor(t, "OnWorkerStop", 20*time.Second, func() bool {
					e := events(s)
					return e[fmt.Sprintf("stop svc %d 0", procs[0])] || e[fmt.Sprintf("stop svc %d 1", procs[1])]
				})
			case "reload":
				for id, pid := range procs {
					want = append(want, fmt.Sprintf("reload svc %d %d", pid, id), fmt.Sprintf("stop svc %d %d", pid, id))
				}
				want = append(want, fmt.Sprintf("reload keeper %d 0", keeper))
			default:
				for id, pid := range procs {
					want = append(want, fmt.Sprintf("stop svc %d %d", pid, id))
				}
				want = append(want, fmt.Sprintf("stop keeper %d 0", keeper))
			}
			for _, w := range want {
				pmWaitFor(t, fmt.Sprintf("%q in the events", w), 20*time.Second, func() bool { return events(s)[w] })
			}
			if tc.name == "reload" && events(s)[fmt.Sprintf("stop keeper %d 0", keeper)] {
				t.Error("OnWorkerStop ran in the process of a worker that is not Reloadable")
			}
		})
	}
}
