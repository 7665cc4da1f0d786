//go:build linux && !workerman_portable

package eventloop

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRunKeepsItsThread: every callback of a running loop runs on the one
// OS thread, though the loop blocks between its rounds while other
// goroutines keep every processor busy (the scheduler then takes the
// processor away during each wait, and an unlocked goroutine would come
// back on another thread). On both pollers.
func TestRunKeepsItsThread(t *testing.T) {
	// With one processor the loop keeps its thread only while busy
	// (TestSparseLoopGivesUpItsThread).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	onEachPoller(t, func(t *testing.T, l *Loop) {
		var stop atomic.Bool
		defer stop.Store(true)
		for range runtime.GOMAXPROCS(0) * 2 {
			go func() {
				for !stop.Load() {
					for range 1000 {
					}
				}
			}()
		}
		tids := make(chan int, 200)
		var id int
		id = l.AddTimer(time.Millisecond, true, func() {
			select {
			case tids <- unix.Gettid():
			default:
				l.DelTimer(id)
			}
		})
		first, others := 0, map[int]int{}
		for i := range cap(tids) {
			tid := <-tids
			if i == 0 {
				first = tid
			} else if tid != first {
				others[tid]++
			}
		}
		if len(others) > 0 {
			t.Fatalf("the loop ran on thread %d, then also on %v (thread: calls)", first, others)
		}
	})
}

// TestReadiedRunsBeforeTheWait: with one processor, a goroutine that a
// callback starts and reports with Readied runs before the loop, locked to
// its thread, blocks in its wait (the loop yields for it); otherwise it
// would start only once the scheduler's monitor took the processor from
// the blocked wait. The scheduler takes its global queue, where the
// yielding loop waits, before the processor's own now and then (one
// scheduling in 61), so most rounds, not all, must see it first.
func TestReadiedRunsBeforeTheWait(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	onEachPoller(t, func(t *testing.T, l *Loop) {
		const rounds = 100
		late := 0
		for range rounds {
			waiting := make(chan bool, 1)
			l.Post(func() {
				go func() { waiting <- l.polling.Load() }()
				l.Readied()
			})
			if <-waiting {
				late++
			}
		}
		if late > rounds/5 {
			t.Fatalf("in %d of %d rounds the goroutine ran only once the loop was in its wait", late, rounds)
		}
	})
}

// TestSparseLoopGivesUpItsThread: with one processor, a loop whose rounds
// find at most one descriptor ready gives up its thread lock, and takes it
// again as soon as rounds find several: then every callback runs on one
// thread again, though other goroutines want the processor. On both
// pollers.
func TestSparseLoopGivesUpItsThread(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	onEachPoller(t, func(t *testing.T, l *Loop) {
		// Sparse: one task at a time, each a round of its own.
		for i := range 4 * sparseRounds {
			done := make(chan bool)
			l.Post(func() { done <- l.threadLocked.Load() })
			if locked := <-done; i == 0 && !locked {
				t.Fatal("the loop did not lock its thread at start")
			}
		}
		if l.threadLocked.Load() {
			t.Fatalf("still locked after %d sparse rounds", 4*sparseRounds)
		}

		// Busy: two pipes left readable, so every round finds both.
		var fds []int
		for range 2 {
			var p [2]int
			if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
				t.Fatal(err)
			}
			defer unix.Close(p[0])
			defer unix.Close(p[1])
			unix.Write(p[1], []byte("x"))
			fds = append(fds, p[0])
		}
		var stop atomic.Bool
		defer stop.Store(true)
		go func() {
			for !stop.Load() {
				runtime.Gosched()
			}
		}()
		tids := make(chan int, 400)
		h := HandlerFunc(func(fd int, ev Event) {
			select {
			case tids <- unix.Gettid():
			default:
				l.RemoveHandler(fd)
			}
		})
		l.Post(func() {
			for _, fd := range fds {
				if err := l.AddHandler(fd, Readable, h); err != nil {
					t.Error(err)
				}
			}
		})
		// The first rounds may still run unlocked; the last half must
		// all be on the thread the loop locked.
		var seen []int
		for range cap(tids) {
			seen = append(seen, <-tids)
		}
		if !l.threadLocked.Load() {
			t.Fatal("not locked while every round finds two descriptors ready")
		}
		last := seen[len(seen)/2:]
		for _, tid := range last {
			if tid != last[0] {
				t.Fatalf("busy rounds ran on threads %v", last)
			}
		}
	})
}

// onEachPoller runs f with a running loop of each native poller.
func onEachPoller(t *testing.T, f func(t *testing.T, l *Loop)) {
	for _, poller := range []string{"epoll", "io_uring"} {
		t.Run(poller, func(t *testing.T) {
			t.Setenv(PollerEnv, poller)
			l := run(t)
			if l.Poller() != poller {
				t.Skipf("the kernel refuses %s here", poller)
			}
			f(t, l)
		})
	}
}
