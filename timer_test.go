package workerman_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

func TestTimerPersistentAndDel(t *testing.T) {
	var n atomic.Int32
	fired := make(chan struct{}, 100)
	var id int
	wmtest.Do(func() {
		id = workerman.Timer.Add(10*time.Millisecond, func() {
			n.Add(1)
			fired <- struct{}{}
		})
	})
	for i := 0; i < 3; i++ {
		select {
		case <-fired:
		case <-time.After(5 * time.Second):
			t.Fatal("persistent timer stopped firing")
		}
	}
	var live bool
	wmtest.Do(func() { live = workerman.Timer.Del(id) })
	if !live {
		t.Fatal("Del reported a running timer as not live")
	}
	after := n.Load()
	time.Sleep(60 * time.Millisecond)
	if n.Load() != after {
		t.Fatalf("timer fired %d times after Del", n.Load()-after)
	}
	wmtest.Do(func() { live = workerman.Timer.Del(id) })
	if live {
		t.Fatal("Del of a deleted timer reported live")
	}
}

func TestTimerOnceAndPrecision(t *testing.T) {
	start := time.Now()
	done := make(chan time.Duration, 2)
	wmtest.Do(func() {
		workerman.Timer.Once(30*time.Millisecond, func() { done <- time.Since(start) })
	})
	select {
	case d := <-done:
		if d < 30*time.Millisecond {
			t.Fatalf("30ms timer fired after %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("once timer never fired")
	}
	select {
	case <-done:
		t.Fatal("once timer fired twice")
	case <-time.After(80 * time.Millisecond):
	}
}

// TestTimerArgsAndSelfDelete is the manual's example of a timer that
// carries arguments and deletes itself after a number of runs.
func TestTimerArgsAndSelfDelete(t *testing.T) {
	got := make(chan string, 10)
	wmtest.Do(func() {
		count := 1
		var id int
		sendMail := func(to, content string) { got <- to + ":" + content }
		id = workerman.Timer.Add(5*time.Millisecond, func() {
			sendMail("workerman@workerman.net", "hello")
			if count++; count > 3 {
				workerman.Timer.Del(id)
			}
		})
	})
	for i := 0; i < 3; i++ {
		select {
		case s := <-got:
			if s != "workerman@workerman.net:hello" {
				t.Fatalf("got %q", s)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("timer did not fire")
		}
	}
	select {
	case <-got:
		t.Fatal("timer fired after deleting itself")
	case <-time.After(50 * time.Millisecond):
	}
}

// TestTimerNeverOverlaps runs a slow persistent timer beside a fast one:
// callbacks must never run at the same time, and the fast timer is delayed
// rather than run concurrently.
func TestTimerNeverOverlaps(t *testing.T) {
	var inside, overlaps, slowRuns atomic.Int32
	enter := func() {
		if inside.Add(1) > 1 {
			overlaps.Add(1)
		}
	}
	leave := func() { inside.Add(-1) }
	var ids [2]int
	wmtest.Do(func() {
		ids[0] = workerman.Timer.Add(2*time.Millisecond, func() {
			enter()
			time.Sleep(20 * time.Millisecond)
			slowRuns.Add(1)
			leave()
		})
		ids[1] = workerman.Timer.Add(time.Millisecond, func() {
			enter()
			leave()
		})
	})
	time.Sleep(200 * time.Millisecond)
	wmtest.Do(func() {
		workerman.Timer.Del(ids[0])
		workerman.Timer.Del(ids[1])
	})
	if overlaps.Load() != 0 {
		t.Fatalf("%d overlapping timer callbacks", overlaps.Load())
	}
	// A slow timer skips missed ticks instead of bursting: 200ms / 20ms.
	if n := slowRuns.Load(); n < 2 || n > 11 {
		t.Fatalf("slow timer ran %d times in 200ms", n)
	}
}

func TestTimerCountAndDelAll(t *testing.T) {
	var before, during, after int
	wmtest.Do(func() {
		before = workerman.Timer.Count()
		for i := 0; i < 5; i++ {
			workerman.Timer.Add(time.Hour, func() {})
		}
		during = workerman.Timer.Count()
	})
	if during-before != 5 {
		t.Fatalf("Count grew by %d after adding 5 timers", during-before)
	}
	var st workerman.Stats
	wmtest.Do(func() { st = workerman.ProcessStats() })
	if got := st.Timers; got != during {
		t.Fatalf("ProcessStats().Timers = %d, want %d", got, during)
	}
	wmtest.Do(func() {
		workerman.Timer.DelAll()
		after = workerman.Timer.Count()
	})
	if after != 0 {
		t.Fatalf("Count after DelAll = %d", after)
	}
}

// TestTimerFromOtherGoroutine adds a timer from outside the loop.
func TestTimerFromOtherGoroutine(t *testing.T) {
	wmtest.Start()
	done := make(chan struct{})
	workerman.Timer.Once(5*time.Millisecond, func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("timer added from another goroutine never fired")
	}
}

func TestPostAndAsync(t *testing.T) {
	wmtest.Start()
	got := make(chan string, 1)
	workerman.Async(func() (string, error) {
		time.Sleep(10 * time.Millisecond) // blocking work off the loop
		return "result", nil
	}, func(v string, err error) {
		got <- v
	})
	select {
	case v := <-got:
		if v != "result" {
			t.Fatalf("got %q", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Async never delivered")
	}
}
