package channel_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/workerman-go/workerman/channel"
)

// TestQueueInTurn has three watchers share a queue: each item goes to
// exactly one of them, in turn.
func TestQueueInTurn(t *testing.T) {
	addr := serve(t)
	p := dial(t, addr, nil)
	r := newRecorder()
	for i := 0; i < 3; i++ {
		w := dial(t, addr, nil)
		mustNil(t, w.Watch("jobs", r.fn("w"+strconv.Itoa(i))))
		// A count round trip on the watcher's connection returns once
		// the server has read its Watch.
		waitCount(t, w, "x", 0)
	}
	const n = 30
	for i := 0; i < n; i++ {
		mustNil(t, p.Enqueue("jobs", "job"+strconv.Itoa(i)))
	}
	seen := map[string]string{}
	per := map[string]int{}
	for i := 0; i < n; i++ {
		e := r.next(t)
		if w, dup := seen[e.data]; dup {
			t.Fatalf("%s delivered to %s and %s", e.data, w, e.name)
		}
		seen[e.data] = e.name
		per[e.name]++
	}
	r.none(t)
	if len(per) != 3 || per["w0"] != 10 || per["w1"] != 10 || per["w2"] != 10 {
		t.Errorf("items per watcher %v, want 10 each", per)
	}
	// In turn: consecutive items go to different watchers.
	for i := 1; i < n; i++ {
		if seen["job"+strconv.Itoa(i)] == seen["job"+strconv.Itoa(i-1)] {
			t.Errorf("job%d and job%d both went to %s", i-1, i, seen["job"+strconv.Itoa(i)])
		}
	}
}

// TestQueueKeepsItems: items enqueued while nobody watches wait in the
// server, in order, and go to the first watcher that comes; after Unwatch
// items wait again.
func TestQueueKeepsItems(t *testing.T) {
	addr := serve(t)
	p := dial(t, addr, nil)
	for i := 0; i < 5; i++ {
		mustNil(t, p.Enqueue("later", i))
	}
	mustNil(t, p.Enqueue("later", map[string]string{"last": "one"}))
	// Wait for the server to have them: a count round trip on the same
	// connection comes back after the server has read what came before.
	waitCount(t, p, "x", 0)
	w := dial(t, addr, nil)
	r := newRecorder()
	mustNil(t, w.Watch("later", r.fn("later")))
	for i := 0; i < 5; i++ {
		e := r.next(t)
		if e.kind != channel.KindJSON || e.data != strconv.Itoa(i) {
			t.Fatalf("item %d: %+v", i, e)
		}
	}
	r.expect(t, "later", `{"last":"one"}`)

	// A second Watch replaces the callback.
	mustNil(t, w.Watch("later", r.fn("again")))
	mustNil(t, p.Enqueue("later", "x"))
	r.expect(t, "again", "x")

	mustNil(t, w.Unwatch("later"))
	mustNil(t, w.Unwatch("later"))
	waitCount(t, w, "x", 0) // the server has read the Unwatch
	mustNil(t, p.Enqueue("later", "kept"))
	waitCount(t, p, "x", 0)
	r.none(t)
	w2 := dial(t, addr, nil)
	mustNil(t, w2.Watch("later", r.fn("w2")))
	r.expect(t, "w2", "kept")
	if err := w2.Watch("later", nil); err == nil {
		t.Error("Watch with a nil callback succeeded")
	}
}

// TestQueueWatcherLeaves: a watcher that disconnects stops getting items;
// the others share them.
func TestQueueWatcherLeaves(t *testing.T) {
	addr := serve(t)
	p := dial(t, addr, nil)
	r := newRecorder()
	a, b := dial(t, addr, nil), dial(t, addr, nil)
	mustNil(t, a.Watch("q", r.fn("a")))
	mustNil(t, b.Watch("q", r.fn("b")))
	waitCount(t, a, "x", 0)
	waitCount(t, b, "x", 0)
	a.Close()
	waitFor(t, "a to disconnect", func() bool { return !a.Connected() })
	waitCount(t, p, "x", 0)
	for i := 0; i < 4; i++ {
		mustNil(t, p.Enqueue("q", i))
	}
	for i := 0; i < 4; i++ {
		if e := r.next(t); e.name != "b" {
			t.Fatalf("item went to %s after it left", e.name)
		}
	}
}

// TestQueueFull: past Server.MaxQueueItems the server refuses items and
// the enqueuing client hears of it through Options.OnError.
func TestQueueFull(t *testing.T) {
	_, addr := serveWith(t, func(s *channel.Server) { s.MaxQueueItems = 3 })
	var mu sync.Mutex
	var errs []string
	p := dial(t, addr, &channel.Options{OnError: func(err error) {
		mu.Lock()
		errs = append(errs, err.Error())
		mu.Unlock()
	}})
	for i := 0; i < 5; i++ {
		mustNil(t, p.Enqueue("small", i)) // accepted by the client
	}
	waitFor(t, "two refusals", func() bool { return p.Stats().ServerErrors == 2 })
	mu.Lock()
	if len(errs) != 2 || !strings.Contains(errs[0], `queue "small" is full`) {
		t.Errorf("errors %q", errs)
	}
	mu.Unlock()
	w := dial(t, addr, nil)
	r := newRecorder()
	mustNil(t, w.Watch("small", r.fn("small")))
	for i := 0; i < 3; i++ {
		r.expect(t, "small", strconv.Itoa(i))
	}
	// Room again: the next item goes straight to the watcher.
	mustNil(t, p.Enqueue("small", "ok"))
	r.expect(t, "small", "ok")
}
