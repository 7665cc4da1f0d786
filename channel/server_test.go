package channel_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/channel"
	"github.com/workerman-go/workerman/internal/wire"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// The tests in this file play misbehaving clients with raw connections.

// rawDial connects to a server; rcvbuf, when positive, shrinks the
// connection's receive buffer so that a client that does not read holds
// little in the kernel.
func rawDial(t *testing.T, addr string, rcvbuf int) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			})
		}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// op builds a payload: an operation byte, then strings as varint-prefixed
// fields, then rest as it is.
func op(o byte, rest []byte, names ...string) []byte {
	b := []byte{o}
	for _, n := range names {
		b = wire.AppendString(b, n)
	}
	return append(b, rest...)
}

func send(t *testing.T, c net.Conn, payloads ...[]byte) {
	t.Helper()
	var b []byte
	for _, p := range payloads {
		b = append(b, framed(p)...)
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// countProbe asks for a count with id and reads frames until the answer,
// returning the frames before it; it fails if the connection ends first.
func countProbe(t *testing.T, c net.Conn, id uint64) [][]byte {
	t.Helper()
	send(t, c, countFrame(id, "probe"))
	var before [][]byte
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	for {
		p, err := readFrame(c)
		if err != nil {
			t.Fatalf("connection ended before the count answer: %v", err)
		}
		if len(p) > 0 && p[0] == 'c' {
			r := wire.NewReader(p[1:])
			if r.Uvarint() == id {
				return before
			}
		}
		before = append(before, p)
	}
}

func countFrame(id uint64, ev string) []byte {
	b := wire.AppendUvarint([]byte{'C'}, id)
	return wire.AppendString(b, ev)
}

// expectClosed reads until the server closes the connection.
func expectClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the server kept the connection open", what)
	}
}

// TestBadClientsDisconnected sends what the protocol does not allow, each
// on a connection of its own: the server disconnects that client, and the
// others keep working.
func TestBadClientsDisconnected(t *testing.T) {
	_, addr := serveWith(t, func(s *channel.Server) { s.MaxPackageSize = 4096 })
	a, b := dial(t, addr, nil), dial(t, addr, nil)
	r := newRecorder()
	mustNil(t, a.On("ev", r.fn("ev")))
	waitCount(t, b, "ev", 1)
	header := func(n uint32) []byte { return []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)} }
	for i, tc := range []struct {
		name string
		raw  []byte
	}{
		{"HTTP request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"length below the header", header(3)},
		{"zero length", header(0)},
		{"empty payload", framed(nil)},
		{"unknown operation", framed([]byte("Zzz"))},
		{"server operation", framed(op('M', []byte{1, 'x'}, "ev"))},
		{"subscribe cut short", framed([]byte{'S', 10, 'e'})},
		{"subscribe without members", framed(op('S', nil, "ev"))},
		{"subscribe with trailing bytes", framed(op('S', []byte{0, 0}, "ev"))},
		{"subscribe with huge members", framed(op('S', wire.AppendUvarint(nil, 1<<40), "ev"))},
		{"unsubscribe with trailing bytes", framed(op('U', []byte{1}, "ev"))},
		{"publish without kind", framed(op('P', nil, "ev"))},
		{"publish with a bad name length", framed([]byte{'P', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
		{"watch cut short", framed([]byte{'W'})},
		{"unwatch with trailing bytes", framed(op('X', []byte{0}, "q"))},
		{"enqueue without kind", framed(op('Q', nil, "q"))},
		{"count without name", framed([]byte{'C', 1})},
		{"frame announced over MaxPackageSize", header(4097)},
		{"frame over MaxPackageSize", framed(op('P', append([]byte{1}, strings.Repeat("x", 5000)...), "ev"))},
		{"valid frames, then garbage", append(framed(op('S', []byte{0}, "other")), framed([]byte("??"))...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rawDial(t, addr, 0)
			if _, err := c.Write(tc.raw); err != nil {
				t.Fatal(err)
			}
			expectClosed(t, c, tc.name)
			// The server serves the others as before.
			mustNil(t, b.Publish("ev", strconv.Itoa(i)))
			r.expect(t, "ev", strconv.Itoa(i))
		})
	}
	// The bad client's subscription went with it.
	waitCount(t, b, "other", 0)

	// A raw client that follows the protocol is served: the limit is the
	// frame, not the connection.
	c := rawDial(t, addr, 0)
	send(t, c, op('S', []byte{3}, "ev"), op('P', append([]byte{1}, strings.Repeat("y", 4000)...), "ev"))
	frames := countProbe(t, c, 7)
	if len(frames) != 1 || string(frames[0][:5]) != "M\x02ev\x01" || len(frames[0]) != 4005 {
		t.Errorf("frames before the count: %q", frames)
	}
	r.expect(t, "ev", strings.Repeat("y", 4000))
	if n := waitCount(t, b, "ev", 2); n.Members != 3 {
		t.Errorf("count %+v", n)
	}
}

// TestSlowSubscriberDisconnected: a subscriber that stops reading is
// disconnected when the server's buffer for it reaches
// Server.MaxSendBufferSize; the other subscribers get every event.
func TestSlowSubscriberDisconnected(t *testing.T) {
	_, addr := serveWith(t, func(s *channel.Server) { s.MaxSendBufferSize = 256 << 10 })
	a, p := dial(t, addr, nil), dial(t, addr, nil)
	got := make(chan int, 100000)
	mustNil(t, a.On("fire", func(d channel.Data) {
		n, _ := strconv.Atoi(d.String()[:8])
		got <- n
	}))
	slow := rawDial(t, addr, 4096)
	send(t, slow, op('S', []byte{0}, "fire"))
	waitCount(t, p, "fire", 2)

	body := strings.Repeat("z", 32<<10)
	sent := 0
	for ; sent < 2000; sent++ {
		for {
			err := p.Publish("fire", fmt.Sprintf("%08d", sent)+body)
			if err == nil {
				break
			}
			if !errors.Is(err, channel.ErrQueueFull) {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		if sent%20 == 19 {
			if n := count(t, p, "fire"); n.Subscribers == 1 {
				sent++
				break
			}
		}
	}
	if n := count(t, p, "fire"); n.Subscribers != 1 {
		t.Fatalf("the slow subscriber is still there after %d events of 32 KiB", sent)
	}
	t.Logf("slow subscriber disconnected after %d events", sent)
	expectClosed(t, slow, "slow subscriber")
	for i := 0; i < sent; i++ {
		select {
		case n := <-got:
			if n != i {
				t.Fatalf("event %d arrived as number %d", i, n)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d events arrived", i, sent)
		}
	}
	if st := a.Stats(); st.Disconnects != 0 {
		t.Errorf("the reading subscriber was disconnected: %+v", st)
	}
}

// TestQueueBacklogFlowControlled: a backlog of queue items larger than a
// watcher's send buffer reaches it in full and in order; items wait in
// the server until the watcher has room instead of disconnecting it.
func TestQueueBacklogFlowControlled(t *testing.T) {
	s, addr := serveWith(t, func(s *channel.Server) { s.MaxSendBufferSize = 64 << 10 })
	p := dial(t, addr, nil)
	const n, size = 3000, 2 << 10
	body := strings.Repeat("j", size-8)
	enqueueBacklog(t, p, n, body)
	w := rawDial(t, addr, 4096)
	send(t, w, op('W', nil, "backlog"))
	// Wait until the server holds items for w in its own buffer: the
	// kernel's is full.
	waitFor(t, "the server to buffer items for the watcher", func() bool {
		buffered := false
		wmtest.Do(func() {
			for _, c := range s.Worker.Connections {
				if c.SendBufferLen() > 0 {
					buffered = true
				}
			}
		})
		return buffered
	})
	w.SetReadDeadline(time.Now().Add(30 * time.Second))
	for i := 0; i < n; i++ {
		f, err := readFrame(w)
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		want := "J" + string(wire.AppendString(nil, "backlog")) + "\x01" + fmt.Sprintf("%08d", i)
		if !strings.HasPrefix(string(f), want) || len(f) != len(want)+len(body) {
			t.Fatalf("item %d: %q…", i, f[:min(len(f), 20)])
		}
	}
	w.SetReadDeadline(time.Time{})
	if frames := countProbe(t, w, 1); len(frames) != 0 {
		t.Errorf("%d frames after the backlog", len(frames))
	}
}

// TestQueueWatcherLostWhileDelivering: the only watcher of a queue is found
// dead when the server writes an item to it (its reset was not processed
// yet); the item stays in the queue for the next watcher.
func TestQueueWatcherLostWhileDelivering(t *testing.T) {
	_, addr := serveWith(t, nil)
	dead := rawDial(t, addr, 0)
	send(t, dead, op('W', nil, "q"))
	countProbe(t, dead, 1)
	enq := rawDial(t, addr, 0)
	countProbe(t, enq, 1)

	// Hold the loop (it serves the server) while the item arrives and
	// then the watcher's reset, so that both are read in one turn, the
	// item first.
	held, release := make(chan struct{}), make(chan struct{})
	workerman.Post(func() {
		close(held)
		<-release
	})
	<-held
	send(t, enq, op('Q', []byte("\x01item"), "q"))
	time.Sleep(50 * time.Millisecond)
	dead.(*net.TCPConn).SetLinger(0)
	dead.Close()
	time.Sleep(50 * time.Millisecond)
	close(release)

	w := dial(t, addr, nil)
	r := newRecorder()
	mustNil(t, w.Watch("q", r.fn("q")))
	r.expect(t, "q", "item")
}

// TestQueueLostWatcherBacklogRequeued: a watcher that does not read is
// given items until its send buffer is full, then its connection is
// reset. The items still in the server's buffer for it (the kernel never
// took them) go back to the front of the queue, and the next watcher
// gets them and the rest, in order, once each.
func TestQueueLostWatcherBacklogRequeued(t *testing.T) {
	s, addr := serveWith(t, func(s *channel.Server) { s.MaxSendBufferSize = 64 << 10 })
	p := dial(t, addr, nil)
	const n, size = 3000, 2 << 10
	body := strings.Repeat("j", size-8)
	enqueueBacklog(t, p, n, body)
	item := func(i int) string {
		return "J" + string(wire.AppendString(nil, "backlog")) + "\x01" + fmt.Sprintf("%08d", i)
	}
	wireSize := int64(len(framed([]byte(item(0) + body))))

	dead := rawDial(t, addr, 4096)
	send(t, dead, op('W', nil, "backlog"))
	// Wait until the server buffers items for it (the kernel's buffers
	// are full) and nothing moves any more.
	var written, given int64
	waitFor(t, "the server to buffer items for the watcher", func() bool {
		lastW, lastG := written, given
		wmtest.Do(func() {
			for _, c := range s.Worker.Connections {
				if c.SendBufferLen() > 0 {
					written, given = c.BytesWritten(), c.BytesWritten()+int64(c.SendBufferLen())
				}
			}
		})
		time.Sleep(20 * time.Millisecond)
		return given > written && written == lastW && given == lastG
	})
	// Frames before written reached the kernel and are lost with the
	// reset; the next watcher gets everything after them.
	taken := int(written / wireSize)
	dead.(*net.TCPConn).SetLinger(0)
	dead.Close()

	w := rawDial(t, addr, 0)
	send(t, w, op('W', nil, "backlog"))
	w.SetReadDeadline(time.Now().Add(30 * time.Second))
	f, err := readFrame(w)
	if err != nil {
		t.Fatal(err)
	}
	first, err := strconv.Atoi(string(f[len(item(0))-8 : len(item(0))]))
	if err != nil {
		t.Fatalf("first item: %q…", f[:min(len(f), 20)])
	}
	t.Logf("the lost watcher was given items up to %d, the kernel took %d; the next watcher starts at %d",
		int(given/wireSize), taken, first)
	if workerman.EventLoop().Completions() {
		// A send in the kernel's hands reports what it took only when it
		// ends, after the snapshot above.
		if first < taken || first >= int(given/wireSize) {
			t.Fatalf("the next watcher starts at item %d; want one from %d to %d", first, taken, int(given/wireSize)-1)
		}
	} else if first != taken {
		t.Fatalf("the next watcher starts at item %d; want %d, the first the kernel did not take", first, taken)
	}
	for i := first + 1; i < n; i++ {
		f, err := readFrame(w)
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		if !strings.HasPrefix(string(f), item(i)) || len(f) != len(item(i))+len(body) {
			t.Fatalf("item %d: %q…", i, f[:min(len(f), 20)])
		}
	}
	w.SetReadDeadline(time.Time{})
	if frames := countProbe(t, w, 1); len(frames) != 0 {
		t.Errorf("%d frames after the backlog", len(frames))
	}
}

// enqueueBacklog enqueues n items numbered from 0 on the queue "backlog",
// waiting while the client's own queue is full, and returns once the
// server has them all.
func enqueueBacklog(t *testing.T, p *channel.Client, n int, body string) {
	t.Helper()
	for i := 0; i < n; i++ {
		for {
			err := p.Enqueue("backlog", fmt.Sprintf("%08d", i)+body)
			if err == nil {
				break
			}
			if !errors.Is(err, channel.ErrQueueFull) {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitCount(t, p, "x", 0)
}
