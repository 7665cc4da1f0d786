//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly) || workerman_portable

package eventloop

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// The portable loop has no descriptor poller: it blocks on a channel until
// a task, a timer or Stop needs it.

func TestPortableRejectsDescriptors(t *testing.T) {
	l := runLoop(t)
	errc := make(chan error, 3)
	l.Post(func() {
		errc <- l.AddHandler(0, Readable, HandlerFunc(func(int, Event) {}))
		errc <- l.AddSharedListener(0, HandlerFunc(func(int, Event) {}))
		if l.Watched(0) {
			errc <- errors.New("descriptor 0 reported as watched")
			return
		}
		errc <- ErrNoPoller
	})
	for i := 0; i < 3; i++ {
		if err := <-errc; !errors.Is(err, ErrNoPoller) {
			t.Fatalf("got %v, want ErrNoPoller", err)
		}
	}
}

func TestPortablePostFromGoroutines(t *testing.T) {
	l := runLoop(t)
	const producers, each = 4, 1000
	var wg sync.WaitGroup
	var mu sync.Mutex
	last := make([]int, producers)
	count, bad := 0, 0
	done := make(chan struct{})
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= each; i++ {
				l.Post(func() {
					if last[p] != i-1 {
						mu.Lock()
						bad++
						mu.Unlock()
					}
					last[p] = i
					if count++; count == producers*each {
						close(done)
					}
				})
				if i%100 == 0 {
					// Let the loop go back to sleep now and then, so
					// wake-ups of a blocked loop are exercised too.
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("not every posted task ran")
	}
	if bad != 0 {
		t.Fatalf("%d tasks ran out of order", bad)
	}
}

// TestPortableTimerWakesIdleLoop adds a timer from another goroutine while
// the loop sleeps with no deadline: the loop must wake to take the new
// deadline into account.
func TestPortableTimerWakesIdleLoop(t *testing.T) {
	l := runLoop(t)
	time.Sleep(20 * time.Millisecond) // the loop is now blocked without a deadline
	fired := make(chan time.Time, 1)
	start := time.Now()
	l.AddTimer(30*time.Millisecond, false, func() { fired <- time.Now() })
	select {
	case at := <-fired:
		if d := at.Sub(start); d < 30*time.Millisecond {
			t.Fatalf("timer fired after %v, before its interval", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timer never fired")
	}
}

func TestPortablePersistentTimerAndDelete(t *testing.T) {
	l := runLoop(t)
	ticks := make(chan int, 10)
	n := 0
	var id int
	idc := make(chan int, 1)
	l.Post(func() {
		id = l.AddTimer(5*time.Millisecond, true, func() {
			n++
			ticks <- n
			if n == 3 {
				l.DelTimer(id)
			}
		})
		idc <- id
	})
	<-idc
	for want := 1; want <= 3; want++ {
		select {
		case got := <-ticks:
			if got != want {
				t.Fatalf("tick %d, want %d", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("tick %d never came", want)
		}
	}
	time.Sleep(30 * time.Millisecond)
	if len(ticks) != 0 {
		t.Fatal("a deleted timer fired again")
	}
	count := make(chan int)
	l.Post(func() { count <- l.TimerCount() })
	if c := <-count; c != 0 {
		t.Fatalf("TimerCount = %d after the timer deleted itself", c)
	}
}

func TestPortableStopWakesBlockedLoop(t *testing.T) {
	l, err := New()
	if err != nil {
		t.Fatal(err)
	}
	go l.Run()
	time.Sleep(20 * time.Millisecond)
	l.Stop()
	select {
	case <-l.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not wake a loop blocked without a deadline")
	}
}

func runLoop(t *testing.T) *Loop {
	t.Helper()
	l, err := New()
	if err != nil {
		t.Fatal(err)
	}
	go l.Run()
	t.Cleanup(func() {
		l.Stop()
		<-l.Done()
	})
	return l
}
