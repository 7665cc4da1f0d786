package link_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/link"
	"github.com/workerman-go/workerman/internal/wire"
	"github.com/workerman-go/workerman/internal/wmtest"
)

func frame(s string) func([]byte) []byte {
	return func(b []byte) []byte {
		b, start := wire.Begin(b)
		b = append(b, s...)
		return wire.End(b, start)
	}
}

// TestKeepFiltersFramesQueuedWhileDown queues frames while the server is
// missing and checks that, once it appears, only the frames Keep accepts
// are written, in order, and that frames queued while up are not asked
// about.
func TestKeepFiltersFramesQueuedWhileDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := "127.0.0.1:" + strconv.Itoa(port)

	got := make(chan string, 16)
	asked := make(chan string, 16)
	var l *link.Link
	wmtest.Do(func() {
		l, err = link.New(link.Config{
			Address: addr,
			OnFrame: func([]byte) {},
			Keep: func(f []byte) bool {
				asked <- string(f[wire.HeaderSize:])
				return f[wire.HeaderSize] != 'x'
			},
		})
		if err == nil {
			l.Start()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, s := range []string{"a1", "x2", "a3", "x4"} {
		if err := l.Queue(frame(s)); err != nil {
			t.Fatal(err)
		}
	}
	w := workerman.NewWorker("frame://" + addr)
	w.OnMessage = func(c *workerman.Connection, data any) { got <- string(data.([]byte)) }
	wmtest.Serve(t, w)
	for _, want := range []string{"a1", "a3"} {
		select {
		case s := <-got:
			if s != want {
				t.Fatalf("got %q, want %q", s, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %q", want)
		}
	}
	if len(asked) != 4 {
		t.Fatalf("Keep asked about %d frames, want 4", len(asked))
	}
	// Once up, frames go out without being asked about.
	if err := l.Queue(frame("x5")); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "x5" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("frame queued while up was not written")
	}
	if len(asked) != 4 {
		t.Fatalf("Keep asked about a frame queued while up")
	}
}
