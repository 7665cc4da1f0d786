//go:build (linux || darwin || freebsd || netbsd || openbsd || dragonfly) && !workerman_portable

package eventloop

import (
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

func run(t *testing.T) *Loop {
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

func TestPostOrderAndConcurrency(t *testing.T) {
	l := run(t)
	const producers, each = 8, 2000
	var mu sync.Mutex
	last := make([]int, producers)
	bad := 0
	var wg sync.WaitGroup
	done := make(chan struct{})
	count := 0
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 1; i <= each; i++ {
				i := i
				l.Post(func() {
					// Runs on the loop only: no lock needed for count.
					if last[p] != i-1 {
						mu.Lock()
						bad++
						mu.Unlock()
					}
					last[p] = i
					count++
					if count == producers*each {
						close(done)
					}
				})
			}
		}(p)
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

func TestTimersFireInOrder(t *testing.T) {
	l := run(t)
	got := make(chan int, 3)
	for _, d := range []int{30, 10, 20} {
		d := d
		l.AddTimer(time.Duration(d)*time.Millisecond, false, func() { got <- d })
	}
	for _, want := range []int{10, 20, 30} {
		if v := <-got; v != want {
			t.Fatalf("timer %d fired before %d", v, want)
		}
	}
}

// TestHasTimer checks HasTimer follows a timer's life: live once added,
// gone once a one-shot timer fired, once deleted, and after DelAllTimers.
func TestHasTimer(t *testing.T) {
	l := run(t)
	fired := make(chan struct{})
	once := l.AddTimer(10*time.Millisecond, false, func() { close(fired) })
	kept := l.AddTimer(time.Hour, true, func() {})
	deleted := l.AddTimer(time.Hour, false, func() {})
	if !l.HasTimer(once) || !l.HasTimer(kept) || !l.HasTimer(deleted) {
		t.Fatal("a timer just added is not live")
	}
	l.DelTimer(deleted)
	if l.HasTimer(deleted) {
		t.Fatal("a deleted timer is still live")
	}
	<-fired
	done := make(chan struct{})
	l.Post(func() { close(done) })
	<-done
	if l.HasTimer(once) {
		t.Fatal("a one-shot timer that fired is still live")
	}
	if !l.HasTimer(kept) {
		t.Fatal("a persistent timer is gone")
	}
	l.DelAllTimers()
	if l.HasTimer(kept) {
		t.Fatal("a timer is live after DelAllTimers")
	}
}

// TestRemovedHandlerGetsNoStaleEvent makes two descriptors readable in the
// same round; whichever handler runs first removes the other, whose event
// (already collected by epoll_wait) must then be discarded.
func TestRemovedHandlerGetsNoStaleEvent(t *testing.T) {
	l := run(t)
	p1r, p1w, _ := os.Pipe()
	p2r, p2w, _ := os.Pipe()
	defer p1r.Close()
	defer p2r.Close()
	defer p1w.Close()
	defer p2w.Close()
	fds := [2]int{int(p1r.Fd()), int(p2r.Fd())}
	var ran, removed [2]bool
	stale := 0
	ready := make(chan struct{})
	for i := range fds {
		i := i
		other := 1 - i
		l.Post(func() {
			l.AddHandler(fds[i], Readable, HandlerFunc(func(fd int, ev Event) {
				if removed[i] {
					stale++
				}
				ran[i] = true
				l.RemoveHandler(fd)
				if !ran[other] && !removed[other] {
					l.RemoveHandler(fds[other])
					removed[other] = true
				}
			}))
			if i == 1 {
				close(ready)
			}
		})
	}
	<-ready
	p1w.Write([]byte("x"))
	p2w.Write([]byte("y"))
	time.Sleep(50 * time.Millisecond)
	result := make(chan [3]int)
	l.Post(func() {
		n := 0
		for _, r := range ran {
			if r {
				n++
			}
		}
		result <- [3]int{n, stale, 0}
	})
	r := <-result
	if r[1] != 0 {
		t.Fatalf("a removed handler received %d stale events", r[1])
	}
	if r[0] != 1 {
		t.Fatalf("%d handlers ran, want exactly 1", r[0])
	}
}

func TestSignal(t *testing.T) {
	l := run(t)
	got := make(chan os.Signal, 1)
	l.OnSignal(syscall.SIGUSR2, func(s os.Signal) { got <- s })
	syscall.Kill(os.Getpid(), syscall.SIGUSR2)
	select {
	case s := <-got:
		if s != syscall.SIGUSR2 {
			t.Fatalf("got %v", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("signal handler never ran")
	}
	l.OnSignal(syscall.SIGUSR2, nil)
}

func TestWritableOnlyWhenAsked(t *testing.T) {
	l := run(t)
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	fd := int(w.Fd())
	calls := make(chan Event, 100)
	l.Post(func() {
		l.AddHandler(fd, Writable, HandlerFunc(func(fd int, ev Event) {
			calls <- ev
			l.ModifyHandler(fd, 0) // drop EPOLLOUT once served
		}))
	})
	select {
	case ev := <-calls:
		if ev&Writable == 0 {
			t.Fatalf("got %v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("writable never reported")
	}
	time.Sleep(30 * time.Millisecond)
	if len(calls) != 0 {
		t.Fatal("writable reported again after it was dropped")
	}
	l.Post(func() { l.RemoveHandler(fd) })
}

func TestStopDrainsPostedTasks(t *testing.T) {
	l, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan struct{})
	go l.Run()
	l.Post(func() {
		l.Stop()
		l.Post(func() { close(ran) })
	})
	<-l.Done()
	select {
	case <-ran:
	default:
		t.Fatal("task posted before Stop returned was dropped")
	}
	if err := l.Run(); err == nil {
		t.Fatal("second Run succeeded")
	}
}

// TestRoundTime: RoundTime reads the clock once per round: the calls of
// one round agree, and a later round reads it again.
func TestRoundTime(t *testing.T) {
	l := run(t)
	type reading struct{ a, b, c time.Time }
	got := make(chan reading, 1)
	l.Post(func() {
		var r reading
		r.a = l.RoundTime()
		time.Sleep(5 * time.Millisecond)
		r.b = l.RoundTime()
		l.Post(func() { // runs in the next round
			r.c = l.RoundTime()
			got <- r
		})
	})
	r := <-got
	if !r.a.Equal(r.b) {
		t.Fatalf("two readings in one round differ: %v, %v", r.a, r.b)
	}
	if d := r.c.Sub(r.a); d < 5*time.Millisecond {
		t.Fatalf("the next round's reading is %v after the first; want at least 5ms", d)
	}
}

// TestRemoveAndClose: the descriptor is closed (its peer sees the end), the
// handler gets no further event, and a new descriptor that reuses the
// number is watched afresh.
func TestRemoveAndClose(t *testing.T) {
	l := run(t)
	pair := nonblockingPair(t)
	defer syscall.Close(pair[1])
	var mu sync.Mutex
	old, fresh := 0, 0
	errc := make(chan error, 1)
	l.Post(func() {
		if err := l.AddHandler(pair[0], Readable, HandlerFunc(func(int, Event) {
			mu.Lock()
			old++
			mu.Unlock()
		})); err != nil {
			errc <- err
			return
		}
		err := l.RemoveAndClose(pair[0])
		if err == nil && l.Watched(pair[0]) {
			err = syscall.EEXIST
		}
		errc <- err
	})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// The peer reads the end of the stream: the descriptor was closed.
	buf := make([]byte, 1)
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := syscall.Read(pair[1], buf)
		if n == 0 && err == nil {
			break
		}
		if err != syscall.EAGAIN || time.Now().After(deadline) {
			t.Fatalf("peer read %d, %v; want the end of the stream", n, err)
		}
		time.Sleep(time.Millisecond)
	}
	if err := l.RemoveAndClose(pair[0]); err == nil {
		t.Error("RemoveAndClose of a descriptor no longer watched succeeded")
	}
	again := nonblockingPair(t)
	defer syscall.Close(again[1])
	got := make(chan struct{}, 1)
	l.Post(func() {
		errc <- l.AddHandler(again[0], Readable, HandlerFunc(func(fd int, _ Event) {
			mu.Lock()
			fresh++
			mu.Unlock()
			l.RemoveAndClose(fd)
			got <- struct{}{}
		}))
	})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	syscall.Write(again[1], []byte("x"))
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the new descriptor's handler never ran")
	}
	mu.Lock()
	defer mu.Unlock()
	if old != 0 || fresh != 1 {
		t.Fatalf("old handler ran %d times, new one %d; want 0 and 1", old, fresh)
	}
}

// nonblockingPair is a connected pair of non-blocking Unix stream sockets.
func nonblockingPair(t *testing.T) [2]int {
	t.Helper()
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range pair {
		syscall.CloseOnExec(fd)
		if err := syscall.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
	}
	return [2]int(pair)
}
