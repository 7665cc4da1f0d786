package eventloop

import (
	"container/heap"
	"time"
)

type timer struct {
	id         int
	when       int64 // loop clock, nanoseconds
	interval   int64
	persistent bool
	fn         func()
	index      int // position in the heap, -1 when not queued
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when == h[j].when {
		return h[i].id < h[j].id
	}
	return h[i].when < h[j].when
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*h = old[:n-1]
	return t
}

// AddTimer schedules fn to run on the loop after interval, and then every
// interval if persistent is true. It returns the timer's id, which is never
// zero. It is safe to call from any goroutine. An interval below one
// millisecond is raised to one millisecond.
func (l *Loop) AddTimer(interval time.Duration, persistent bool, fn func()) int {
	if interval < time.Millisecond {
		interval = time.Millisecond
	}
	l.mu.Lock()
	l.nextTimer++
	t := &timer{
		id:         l.nextTimer,
		when:       l.now() + int64(interval),
		interval:   int64(interval),
		persistent: persistent,
		fn:         fn,
	}
	l.timerByID[t.id] = t
	heap.Push(&l.timers, t)
	first := t.index == 0
	l.mu.Unlock()
	if first {
		l.wake()
	}
	return t.id
}

// DelTimer cancels the timer with the given id. It reports whether the timer
// was live. A timer may delete itself from its own callback.
func (l *Loop) DelTimer(id int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.timerByID[id]
	if !ok {
		return false
	}
	delete(l.timerByID, id)
	if t.index >= 0 {
		heap.Remove(&l.timers, t.index)
	}
	return true
}

// HasTimer reports whether the timer with the given id is live: added, not
// deleted, and not yet fired if it runs once.
func (l *Loop) HasTimer(id int) bool {
	l.mu.Lock()
	_, ok := l.timerByID[id]
	l.mu.Unlock()
	return ok
}

// DelAllTimers cancels every timer of the loop.
func (l *Loop) DelAllTimers() {
	l.mu.Lock()
	for _, t := range l.timers {
		t.index = -1
	}
	l.timers = nil
	clear(l.timerByID)
	l.mu.Unlock()
}

// TimerCount returns the number of live timers.
func (l *Loop) TimerCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.timerByID)
}

// nextTimeout returns the epoll timeout in milliseconds: -1 for none.
func (l *Loop) nextTimeout() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.timers) == 0 {
		return -1
	}
	d := l.timers[0].when - l.now()
	if d <= 0 {
		return 0
	}
	// Round up so a timer never fires early.
	return int((d + int64(time.Millisecond) - 1) / int64(time.Millisecond))
}

func (l *Loop) runTimers() {
	now := l.now()
	for {
		l.mu.Lock()
		if len(l.timers) == 0 || l.timers[0].when > now {
			l.mu.Unlock()
			return
		}
		t := heap.Pop(&l.timers).(*timer)
		if !t.persistent {
			delete(l.timerByID, t.id)
		}
		l.mu.Unlock()

		if l.panicH != nil {
			l.call(t.fn)
		} else {
			t.fn()
		}

		if t.persistent {
			l.mu.Lock()
			if _, live := l.timerByID[t.id]; live && t.index < 0 {
				next := t.when + t.interval
				if cur := l.now(); next <= cur {
					// The loop fell behind: skip missed ticks instead of
					// firing a burst.
					next = cur + t.interval
				}
				t.when = next
				heap.Push(&l.timers, t)
			}
			l.mu.Unlock()
		}
	}
}
