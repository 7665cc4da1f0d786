package channel_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workerman-go/workerman/channel"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// proxy forwards the connections it accepts on a fixed address to a
// server, so that a test can take one client's link down and up while the
// server and the other clients stay.
type proxy struct {
	t        *testing.T
	addr, to string
	mu       sync.Mutex
	ln       net.Listener
	conns    []net.Conn
}

func newProxy(t *testing.T, addr, to string) *proxy {
	p := &proxy{t: t, addr: addr, to: to}
	t.Cleanup(p.down)
	return p
}

// up starts listening and forwarding.
func (p *proxy) up() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.to)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

// down closes the listener and every forwarded connection.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// connect makes a client with Connect, which does not wait for the server.
func connect(t *testing.T, addr string, opts *channel.Options) *channel.Client {
	t.Helper()
	var c *channel.Client
	var err error
	wmtest.Do(func() { c, err = channel.Connect(addr, opts) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestPendingBounded: while the server is unreachable, publishes wait in
// the client's queue up to Options.MaxPending; past it Publish returns
// ErrQueueFull and Stats counts the refusal; once the server is reachable
// the queued events are delivered, in order.
func TestPendingBounded(t *testing.T) {
	addr := serve(t)
	sub := dial(t, addr, nil)
	r := newRecorder()
	mustNil(t, sub.On("ev", r.fn("ev")))
	waitCount(t, sub, "ev", 1)

	// The publisher reaches the server through a proxy that is not up yet.
	px := newProxy(t, freeAddr(t), addr)
	var ups atomic.Int32
	p := connect(t, px.addr, &channel.Options{MaxPending: 1000, OnConnect: func() { ups.Add(1) }})
	// A frame is 4 (length) + 1 (op) + 1+2 ("ev") + 1 (kind) + 90 bytes of
	// data = 99 bytes: ten fit in 1000.
	msg := func(i int) string { return fmt.Sprintf("m%02d", i) + strings.Repeat(".", 87) }
	accepted := 0
	for i := 0; i < 13; i++ {
		err := p.Publish("ev", msg(i))
		switch {
		case err == nil:
			if accepted != i {
				t.Fatalf("publish %d accepted after a refusal", i)
			}
			accepted++
		case errors.Is(err, channel.ErrQueueFull):
		default:
			t.Fatal(err)
		}
	}
	if accepted != 10 {
		t.Errorf("%d publishes accepted, want 10", accepted)
	}
	if st := p.Stats(); st.Published != 10 || st.Refused != 3 || st.Disconnects != 0 {
		t.Errorf("stats while unreachable %+v", st)
	}
	if p.Connected() || ups.Load() != 0 {
		t.Fatal("connected without a server")
	}

	px.up()
	for i := 0; i < accepted; i++ {
		r.expect(t, "ev", msg(i))
	}
	r.none(t)
	if ups.Load() != 1 || !p.Connected() {
		t.Errorf("connected %v after %d OnConnect", p.Connected(), ups.Load())
	}
	mustNil(t, p.Publish("ev", "later"))
	r.expect(t, "ev", "later")

	// Down again (the proxy drops the connection): publishes wait, and
	// arrive when it is back.
	px.down()
	waitFor(t, "the publisher to see the link down", func() bool { return !p.Connected() })
	for i := 0; i < 3; i++ {
		mustNil(t, p.Publish("ev", msg(i)))
	}
	px.up()
	for i := 0; i < 3; i++ {
		r.expect(t, "ev", msg(i))
	}
	if st := p.Stats(); st.Disconnects != 1 || st.Published != 14 {
		t.Errorf("stats %+v", st)
	}
}

// TestPendingFullOnIsUndone: an On, Watch or SetMembers refused because the
// queue is full changes nothing; once there is room, the same call works.
func TestPendingFullOnIsUndone(t *testing.T) {
	addr := serve(t)
	px := newProxy(t, freeAddr(t), addr)
	p := connect(t, px.addr, &channel.Options{MaxPending: 300})
	r := newRecorder()
	mustNil(t, p.On("a", r.fn("a")))
	// Names long enough that their frames (17 and 16 bytes) cannot fit.
	const evB, queueQ = "bbbbbbbbbb", "qqqqqqqqqq"
	// Fill the queue with the smallest frames (7 bytes): what is left is
	// too small for any of the frames below.
	for p.Publish("", []byte{}) == nil {
	}
	if err := p.On(evB, r.fn(evB)); !errors.Is(err, channel.ErrQueueFull) {
		t.Fatalf("On with a full queue: %v", err)
	}
	if err := p.Watch(queueQ, r.fn(queueQ)); !errors.Is(err, channel.ErrQueueFull) {
		t.Fatalf("Watch with a full queue: %v", err)
	}
	if err := p.SetMembers("a", 5); !errors.Is(err, channel.ErrQueueFull) {
		t.Fatalf("SetMembers with a full queue: %v", err)
	}
	if err := p.Unsubscribe("a"); !errors.Is(err, channel.ErrQueueFull) {
		t.Fatalf("Unsubscribe with a full queue: %v", err)
	}
	px.up()
	waitFor(t, "the link", p.Connected)
	other := dial(t, addr, nil)
	// Only a is subscribed, with no members: the refused calls left no
	// trace.
	waitCount(t, other, "a", 1)
	if n := waitCount(t, other, "a", 1); n.Members != 0 {
		t.Errorf("count of a %+v", n)
	}
	waitCount(t, other, evB, 0)
	mustNil(t, other.Enqueue(queueQ, "item"))
	mustNil(t, other.Publish("a", "to a"))
	r.expect(t, "a", "to a")
	r.none(t)
	// Retried with room, they work.
	mustNil(t, p.On(evB, r.fn(evB)))
	mustNil(t, p.Watch(queueQ, r.fn(queueQ)))
	r.expect(t, queueQ, "item")
	waitCount(t, other, evB, 1)
	mustNil(t, other.Publish(evB, "to b"))
	r.expect(t, evB, "to b")
}

// TestReconnect: when the server's worker stops and listens again, clients
// reconnect by themselves and subscribe and watch again, with their member
// counts; what a client published meanwhile to itself arrives.
func TestReconnect(t *testing.T) {
	addr := freeAddr(t)
	s, _ := serveAt(t, addr, nil)
	var ups, downs atomic.Int32
	a := dial(t, addr, &channel.Options{
		OnConnect:    func() { ups.Add(1) },
		OnDisconnect: func(string) { downs.Add(1) },
	})
	b := dial(t, addr, nil)
	r := newRecorder()
	mustNil(t, a.On("ev", r.fn("ev")))
	mustNil(t, a.SetMembers("ev", 2))
	mustNil(t, a.Watch("q", r.fn("q")))
	waitFor(t, "a's subscription", func() bool {
		n, err := b.CountContext(context.Background(), "ev")
		return err == nil && n.Members == 2
	})
	mustNil(t, b.Publish("ev", "before"))
	r.expect(t, "ev", "before")

	for round := 1; round <= 2; round++ {
		wmtest.Do(s.Worker.Stop)
		waitFor(t, "the clients to see the server gone", func() bool { return !a.Connected() && !b.Connected() })
		if downs.Load() != int32(round) {
			t.Errorf("OnDisconnect ran %d times, want %d", downs.Load(), round)
		}
		// Published while down, to a subscriber on the same client: its
		// subscription goes first when the link is back.
		mustNil(t, a.Publish("ev", fmt.Sprint("gap", round)))
		var err error
		wmtest.Do(func() { err = s.Worker.Listen() })
		mustNil(t, err)
		waitFor(t, "both clients back", func() bool { return a.Connected() && b.Connected() })
		r.expect(t, "ev", fmt.Sprint("gap", round))
		waitFor(t, "a subscribed again with its members", func() bool {
			n, err := b.CountContext(context.Background(), "ev")
			return err == nil && n == channel.Count{Subscribers: 1, Members: 2}
		})
		mustNil(t, b.Publish("ev", "after"))
		r.expect(t, "ev", "after")
		mustNil(t, b.Enqueue("q", "job"))
		r.expect(t, "q", "job")
	}
	if ups.Load() != 3 || a.Stats().Disconnects != 2 {
		t.Errorf("OnConnect %d times, stats %+v", ups.Load(), a.Stats())
	}
}

// fakeServer accepts connections for tests that play the server's side.
func fakeServer(t *testing.T) (string, chan net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 10)
	var mu sync.Mutex
	var all []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range all {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			all = append(all, c)
			mu.Unlock()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			conns <- c
		}
	}()
	return ln.Addr().String(), conns
}

func accept(t *testing.T, conns chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c := <-conns:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the client did not connect")
		return nil
	}
}

// readFrame reads one frame's payload.
func readFrame(c net.Conn) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if n < 4 || n > 64<<20 {
		return nil, fmt.Errorf("frame length %d", n)
	}
	p := make([]byte, n-4)
	_, err := io.ReadFull(c, p)
	return p, err
}

// framed adds a length header to payload.
func framed(payload []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload)+4)), payload...)
}

// TestClientAgainstFakeServer checks the client's side of the protocol
// with a server played by the test: a count pending when the connection
// is lost fails; server errors reach OnError; unknown frames are ignored;
// an oversized frame makes the client reconnect.
func TestClientAgainstFakeServer(t *testing.T) {
	addr, conns := fakeServer(t)
	errs := make(chan error, 10)
	reasons := make(chan string, 10)
	c := dial(t, addr, &channel.Options{
		MaxPackageSize: 1000,
		OnError:        func(err error) { errs <- err },
		OnDisconnect:   func(r string) { reasons <- r },
	})
	s := accept(t, conns)
	r := newRecorder()
	mustNil(t, c.On("ev", r.fn("ev")))
	if p, err := readFrame(s); err != nil || string(p) != "S\x02ev\x00" {
		t.Fatalf("subscribe frame %q %v", p, err)
	}

	// An event, an unknown operation, a truncated event, an error.
	s.Write(framed([]byte("M\x02ev\x01hello")))
	s.Write(framed([]byte("Z whatever")))
	s.Write(framed([]byte("M\x09ev")))
	s.Write(framed(nil))
	s.Write(framed([]byte("M\x02ev\x00bytes")))
	s.Write(framed([]byte("E\x04oops")))
	r.expect(t, "ev", "hello")
	if e := r.next(t); e.kind != channel.KindBytes || e.data != "bytes" {
		t.Errorf("second event %+v", e)
	}
	select {
	case err := <-errs:
		if err.Error() != "oops" {
			t.Errorf("OnError got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnError not called")
	}
	if c.Stats().ServerErrors != 1 {
		t.Errorf("stats %+v", c.Stats())
	}

	// A count the server never answers fails when the connection is lost.
	res := make(chan error, 1)
	c.Count("ev", func(_ channel.Count, err error) { res <- err })
	if p, err := readFrame(s); err != nil || p[0] != 'C' {
		t.Fatalf("count frame %q %v", p, err)
	}
	s.Close()
	select {
	case err := <-res:
		if err == nil {
			t.Error("count succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("pending count not failed")
	}
	<-reasons

	// The client reconnects and subscribes again; a frame over its
	// MaxPackageSize makes it drop the connection and come back.
	s = accept(t, conns)
	if p, err := readFrame(s); err != nil || string(p) != "S\x02ev\x00" {
		t.Fatalf("subscribe frame after reconnecting %q %v", p, err)
	}
	s.Write(binary.BigEndian.AppendUint32(nil, 5000))
	<-reasons
	s = accept(t, conns)
	if p, err := readFrame(s); err != nil || string(p) != "S\x02ev\x00" {
		t.Fatalf("subscribe frame after an oversized frame %q %v", p, err)
	}
	s.Write(framed([]byte("M\x02ev\x01back")))
	r.expect(t, "ev", "back")
}

// TestCloseWhileReconnecting: a client closed while it waits to connect
// again makes no further attempt.
func TestCloseWhileReconnecting(t *testing.T) {
	addr := freeAddr(t)
	var downs atomic.Int32
	c := connect(t, addr, &channel.Options{OnDisconnect: func(string) { downs.Add(1) }})
	// Let the first attempts fail: the client now waits for its next one.
	time.Sleep(100 * time.Millisecond)
	c.Close()
	wmtest.Do(func() {}) // the loop has run Close
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the address was taken meanwhile: %v", err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	select {
	case conn := <-accepted:
		conn.Close()
		t.Fatal("a closed client connected")
	case <-time.After(time.Second):
	}
	if err := c.Publish("x", "y"); !errors.Is(err, channel.ErrClosed) {
		t.Errorf("Publish after Close: %v", err)
	}
	if c.Connected() || downs.Load() != 0 {
		t.Errorf("connected %v, %d disconnects", c.Connected(), downs.Load())
	}
}
