//go:build linux

package workerman_test

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pmSpread opens n connections to s at once, asks each for its process
// with "ping" while all are open, and returns how many each pid holds.
func pmSpread(t *testing.T, s *svc, n int) map[int]int {
	t.Helper()
	conns := make([]net.Conn, n)
	pids := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", s.addr(), 5*time.Second)
			if err != nil {
				errs[i] = err
				return
			}
			conns[i] = c
			c.SetDeadline(time.Now().Add(15 * time.Second))
			if _, err := c.Write([]byte("ping\n")); err != nil {
				errs[i] = err
				return
			}
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				errs[i] = err
				return
			}
			var p pmPong
			if f := strings.Fields(line); len(f) == 5 {
				fmt.Sscan(f[3], &p.pid)
			}
			pids[i] = p.pid
		}()
	}
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	held := map[int]int{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("connection %d: %v", i, errs[i])
		}
		held[pids[i]]++
	}
	return held
}

// checkShares fails unless every one of want processes holds between
// lo and hi percent of the connections.
func checkShares(t *testing.T, held map[int]int, n, want int, lo, hi float64) {
	t.Helper()
	var shares []int
	for _, k := range held {
		shares = append(shares, k)
	}
	sort.Ints(shares)
	if len(held) != want {
		t.Errorf("%d connections reached %d processes %v, want all %d", n, len(held), shares, want)
		return
	}
	for _, k := range shares {
		if p := 100 * float64(k) / float64(n); p < lo || p > hi {
			t.Errorf("%d connections spread %v over the processes: a share of %.0f%% is outside %.0f-%.0f%%", n, shares, p, lo, hi)
			return
		}
	}
}

// testFairAccept: the processes of a worker share one listening socket, and
// each takes an even share of the connections when they arrive all at once
// (a burst the first process to wake could drain alone). The
// share holds after a process is killed and replaced, and after a reload.
func testFairAccept(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	// Each process counts a connection until it has seen it close, so a
	// round starts once the last round's connections are gone everywhere.
	settled := func() {
		t.Helper()
		pmWaitFor(t, "no open connection", 10*time.Second, func() bool {
			for _, p := range s.status().Processes {
				if p.Worker == "svc" && p.Connections != 0 {
					return false
				}
			}
			return true
		})
	}
	round := func(when string) {
		t.Helper()
		for _, n := range []int{20, 100} {
			for try := 0; try < 3; try++ {
				settled()
				held := pmSpread(t, s, n)
				checkShares(t, held, n, 2, 35, 65)
				if t.Failed() {
					t.Fatalf("%s, try %d", when, try)
				}
			}
		}
	}
	round("after start")

	// A process counts once it accepts: its replacement takes a moment
	// after it shows in status.
	allAccept := func() {
		t.Helper()
		pmWaitFor(t, "connections reaching every process", 20*time.Second, func() bool {
			return len(pmSpread(t, s, 8)) == 2
		})
	}
	procs := pmWorkerProcs(s.status(), "svc")
	victim := procs[1]
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	pmWaitFor(t, "a replacement with id 1", 20*time.Second, func() bool {
		after := pmWorkerProcs(s.status(), "svc")
		return after[1] != 0 && after[1] != victim
	})
	allAccept()
	round("after a process was killed and replaced")

	s.install(bins.v2)
	s.must("reload")
	allAccept()
	round("after reload")
	s.must("stop")
}

// testChildProcs: a worker process gets its share of the CPUs as
// GOMAXPROCS (at least one), unless the GOMAXPROCS environment variable
// says otherwise.
func testChildProcs(t *testing.T, bins pmBins) {
	cpus := runtime.GOMAXPROCS(0)
	for _, tc := range []struct {
		env  []string
		want int
	}{
		{[]string{"SVC_COUNT=2"}, max(1, cpus/2)},
		{[]string{"SVC_COUNT=1"}, cpus},
		{[]string{"SVC_COUNT=2", "GOMAXPROCS=3"}, 3},
	} {
		s := newSvc(t, bins.v1, tc.env...)
		s.startDaemon()
		for range 4 {
			if got := s.mustAsk("procs"); got != fmt.Sprintf("procs %d", tc.want) {
				t.Errorf("%v on %d CPUs: %q, want procs %d", tc.env, cpus, got, tc.want)
			}
		}
		s.must("stop")
	}
}
