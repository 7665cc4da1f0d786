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
