package workerman_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// recorder collects events that callbacks report from the loop.
type recorder struct {
	mu     sync.Mutex
	events []string
	ch     chan string
}

func newRecorder() *recorder { return &recorder{ch: make(chan string, 1024)} }

func (r *recorder) add(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.ch <- e:
	default:
	}
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func (r *recorder) count(e string) int {
	n := 0
	for _, x := range r.list() {
		if x == e {
			n++
		}
	}
	return n
}

// wait blocks until event e has been recorded (again).
func (r *recorder) wait(t *testing.T, e string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case x := <-r.ch:
			if x == e {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %q; events so far: %v", e, r.list())
		}
	}
}

// TestSendBufferFullSemantics checks the manual's three Send outcomes and
// its buffer-full rules against a client that does not read.
func TestSendBufferFullSemantics(t *testing.T) {
	rec := newRecorder()
	type result struct {
		results                 []workerman.SendResult
		failsBefore, failsAfter int64
	}
	resCh := make(chan result, 1)
	var conn *workerman.Connection
	w := workerman.NewWorker("tcp://127.0.0.1:0")
	w.OnConnect = func(c *workerman.Connection) {
		conn = c
		c.MaxSendBufferSize = 256 << 10
		rec.add("connect")
	}
	w.OnBufferFull = func(c *workerman.Connection) { rec.add("full") }
	w.OnBufferDrain = func(c *workerman.Connection) { rec.add("drain") }
	w.OnError = func(c *workerman.Connection, code int, msg string) {
		if code == workerman.SendFail && strings.Contains(msg, "buffer full") {
			rec.add("error-send-fail")
		}
	}
	addr := wmtest.Serve(t, w)
	c := dial(t, "tcp", addr)
	rec.wait(t, "connect")

	chunk := bytes.Repeat([]byte("x"), 64<<10)
	wmtest.Do(func() {
		var r result
		r.failsBefore = workerman.ProcessStats().SendFail
		// The first sends go to the kernel until its buffer is full; then
		// they are queued until the queue reaches 256 KiB; then dropped.
		for i := 0; i < 400; i++ {
			res := conn.Send(chunk)
			r.results = append(r.results, res)
			if res == workerman.SendFailed {
				break
			}
		}
		r.failsAfter = workerman.ProcessStats().SendFail
		resCh <- r
	})
	r := <-resCh
	last := r.results[len(r.results)-1]
	if last != workerman.SendFailed {
		t.Fatalf("400 sends of 64 KiB to a client that does not read never failed: %v", r.results)
	}
	// On io_uring every send is queued: the loop hands the round's sends
	// to the kernel together.
	wantFirst := workerman.SendOK
	if workerman.EventLoop().Completions() {
		wantFirst = workerman.SendQueued
	}
	if r.results[0] != wantFirst {
		t.Fatalf("first send into an empty socket = %v, want %v", r.results[0], wantFirst)
	}
	// Exactly one send failed, the one after the buffer was full; the one
	// before it was queued (it crossed the limit).
	if got := r.results[len(r.results)-2]; got != workerman.SendQueued {
		t.Fatalf("send before the failure = %v, want SendQueued", got)
	}
	if rec.count("full") != 1 {
		t.Fatalf("OnBufferFull fired %d times, want 1 (events %v)", rec.count("full"), rec.list())
	}
	if rec.count("error-send-fail") != 1 {
		t.Fatalf("OnError(SendFail) fired %d times, want 1", rec.count("error-send-fail"))
	}
	if r.failsAfter-r.failsBefore != 1 {
		t.Fatalf("send_fail counter grew by %d, want 1", r.failsAfter-r.failsBefore)
	}
	// Once the client reads everything, the buffer drains and all the data
	// accepted by the sends (SendOK or SendQueued) arrives.
	accepted := 0
	for _, res := range r.results {
		if res != workerman.SendFailed {
			accepted += len(chunk)
		}
	}
	got, err := io.ReadFull(c, make([]byte, accepted))
	if err != nil || got != accepted {
		t.Fatalf("read %d of %d bytes: %v", got, accepted, err)
	}
	rec.wait(t, "drain")
	var pending int
	wmtest.Do(func() { pending = conn.SendBufferLen() })
	if pending != 0 {
		t.Fatalf("send buffer holds %d bytes after drain", pending)
	}
}

// TestCloseFlushesThenCloses sends more than the kernel takes at once and
// closes; the client must receive every byte, then EOF.
func TestCloseFlushesThenCloses(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	closed := make(chan struct{})
	w := workerman.NewWorker("tcp://127.0.0.1:0")
	w.OnConnect = func(c *workerman.Connection) {
		c.MaxSendBufferSize = 4 << 20
		c.Send(payload)
		c.Close("END")
	}
	w.OnClose = func(c *workerman.Connection) { close(closed) }
	addr := wmtest.Serve(t, w)
	c := dial(t, "tcp", addr)
	time.Sleep(50 * time.Millisecond) // let the kernel buffers fill first
	all, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte(nil), payload...), "END"...)
	if !bytes.Equal(all, want) {
		t.Fatalf("received %d bytes, want %d", len(all), len(want))
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("OnClose did not run")
	}
}

// TestDestroyDiscards checks Destroy closes at once even with queued data.
func TestDestroyDiscards(t *testing.T) {
	rec := newRecorder()
	w := workerman.NewWorker("tcp://127.0.0.1:0")
	// One large send, four times what the kernel's socket buffers take
	// from a peer that does not read, queued with a single copy (the test
	// runs under the race detector, where copying is slow).
	big := make([]byte, 16<<20)
	w.OnConnect = func(c *workerman.Connection) {
		c.MaxSendBufferSize = 32 << 20
		c.Send(big)
		if c.SendBufferLen() == 0 {
			rec.add("nothing-queued")
		}
		c.Destroy()
		if c.Status() != workerman.StatusClosed {
			rec.add("not-closed")
		}
		c.Destroy() // twice is harmless
	}
	w.OnClose = func(c *workerman.Connection) { rec.add("close") }
	addr := wmtest.Serve(t, w)
	c := dial(t, "tcp", addr)
	rec.wait(t, "close")
	n, _ := io.Copy(io.Discard, c)
	if n >= int64(len(big)) {
		t.Fatalf("client got all %d bytes although the connection was destroyed", n)
	}
	time.Sleep(20 * time.Millisecond)
	if rec.count("close") != 1 || rec.count("not-closed") != 0 || rec.count("nothing-queued") != 0 {
		t.Fatalf("events %v", rec.list())
	}
}

// TestOnCloseExactlyOnce ends connections every way there is and counts
// OnClose calls.
func TestOnCloseExactlyOnce(t *testing.T) {
	rec := newRecorder()
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) {
		switch data.(string) {
		case "close":
			c.Close("bye")
			c.Close()
			c.Destroy()
		case "destroy":
			c.Destroy()
			c.Close()
		case "close-in-close":
			c.OnClose = func(c *workerman.Connection) {
				rec.add("close")
				c.Close()
				c.Destroy()
			}
			c.Close()
		}
	}
	w.OnClose = func(c *workerman.Connection) { rec.add("close") }
	addr := wmtest.Serve(t, w)
	for _, cmd := range []string{"close", "destroy", "close-in-close", "peer", "reset"} {
		c := dial(t, "tcp", addr)
		switch cmd {
		case "peer":
			c.Write([]byte("hello\n"))
			c.Close()
		case "reset":
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		default:
			c.Write([]byte(cmd + "\n"))
			io.Copy(io.Discard, c)
		}
		rec.wait(t, "close")
	}
	time.Sleep(50 * time.Millisecond)
	if n := rec.count("close"); n != 5 {
		t.Fatalf("OnClose ran %d times for 5 connections", n)
	}
	var open int
	wmtest.Do(func() { open = len(w.Connections) })
	if open != 0 {
		t.Fatalf("%d connections still listed", open)
	}
}

// TestPauseResumeRecv checks nothing is delivered while paused and
// everything is delivered, in order, after resuming.
func TestPauseResumeRecv(t *testing.T) {
	rec := newRecorder()
	var conn *workerman.Connection
	var mu sync.Mutex
	var got []string
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnConnect = func(c *workerman.Connection) {
		conn = c
		c.PauseRecv()
		rec.add("paused")
	}
	w.OnMessage = func(c *workerman.Connection, data any) {
		mu.Lock()
		got = append(got, data.(string))
		n := len(got)
		mu.Unlock()
		if n == 3 {
			// Pausing inside OnMessage stops delivery of the rest of the
			// buffered packages until resumed.
			c.PauseRecv()
			rec.add("paused-again")
		}
		if n == 5 {
			rec.add("all")
		}
	}
	addr := wmtest.Serve(t, w)
	c := dial(t, "tcp", addr)
	rec.wait(t, "paused")
	c.Write([]byte("1\n2\n3\n4\n5\n"))
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	if len(got) != 0 {
		t.Fatalf("delivered %v while paused", got)
	}
	mu.Unlock()
	wmtest.Do(func() {
		if !conn.IsPaused() {
			t.Error("IsPaused false after PauseRecv")
		}
		conn.ResumeRecv()
	})
	rec.wait(t, "paused-again")
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	if len(got) != 3 {
		t.Fatalf("delivered %v after pausing in OnMessage, want 3 messages", got)
	}
	mu.Unlock()
	wmtest.Do(func() { conn.ResumeRecv() })
	rec.wait(t, "all")
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, ",") != "1,2,3,4,5" {
		t.Fatalf("got %v", got)
	}
}

// TestPipeFlowControl proxies a 32 MiB stream to a backend that reads
// slowly and checks the proxy's buffered bytes stay bounded and every byte
// arrives intact.
func TestPipeFlowControl(t *testing.T) {
	const total = 32 << 20
	const limit = 256 << 10
	// A slow backend written with the standard library.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	received := make(chan int64, 1)
	go func() {
		bc, err := ln.Accept()
		if err != nil {
			received <- -1
			return
		}
		defer bc.Close()
		var n int64
		buf := make([]byte, 16<<10)
		for {
			m, err := bc.Read(buf)
			n += int64(m)
			if err != nil {
				break
			}
			if n < 4<<20 {
				time.Sleep(time.Millisecond) // slow at first
			}
		}
		received <- n
	}()
	var maxBuffered int
	var mu sync.Mutex
	w := workerman.NewWorker("tcp://127.0.0.1:0")
	w.OnConnect = func(c *workerman.Connection) {
		up, err := workerman.NewAsyncTcpConnection("tcp://"+ln.Addr().String(), nil)
		if err != nil {
			t.Error(err)
			c.Close()
			return
		}
		up.MaxSendBufferSize = limit
		c.Pipe(up)
		up.Pipe(c)
		inner := c.OnMessage
		c.OnMessage = func(c *workerman.Connection, data any) {
			inner(c, data)
			mu.Lock()
			if n := up.SendBufferLen(); n > maxBuffered {
				maxBuffered = n
			}
			mu.Unlock()
		}
		up.Connect()
	}
	addr := wmtest.Serve(t, w)
	c := dial(t, "tcp", addr)
	c.SetDeadline(time.Now().Add(60 * time.Second))
	block := bytes.Repeat([]byte("z"), 64<<10)
	for sent := 0; sent < total; sent += len(block) {
		if _, err := c.Write(block); err != nil {
			t.Fatal(err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	n := <-received
	if n != total {
		t.Fatalf("backend received %d bytes, want %d", n, total)
	}
	mu.Lock()
	defer mu.Unlock()
	// The proxy may exceed the limit by at most one read (64 KiB).
	if maxBuffered > limit+64<<10 {
		t.Fatalf("proxy buffered up to %d bytes with a limit of %d", maxBuffered, limit)
	}
}

// TestCloseWithUnreadInputDeliversLastBytes: the client sends a request and
// more data right behind it; the server answers and closes. The answer must
// arrive intact rather than be destroyed by a reset for the unread input.
func TestCloseWithUnreadInputDeliversLastBytes(t *testing.T) {
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) {
		if data.(string) == "quit" {
			c.Close("bye")
		}
	}
	addr := wmtest.Serve(t, w)
	for i := 0; i < 20; i++ {
		c := dial(t, "tcp", addr)
		junk := bytes.Repeat([]byte("j"), 100<<10)
		if _, err := c.Write(append([]byte("quit\n"), junk...)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "bye\n" {
			t.Fatalf("round %d: got %q, %v", i, got, err)
		}
		c.Close()
	}
}

// TestSendBeforeConnectIsBounded: sends queued on an outbound connection
// before it connects obey MaxSendBufferSize like any other.
func TestSendBeforeConnectIsBounded(t *testing.T) {
	type out struct {
		results []workerman.SendResult
		full    int
	}
	res := make(chan out, 1)
	wmtest.Do(func() {
		c, err := workerman.NewAsyncTcpConnection("tcp://127.0.0.1:9", nil)
		if err != nil {
			t.Error(err)
			res <- out{}
			return
		}
		var o out
		c.MaxSendBufferSize = 100
		c.OnBufferFull = func(*workerman.Connection) { o.full++ }
		for i := 0; i < 4; i++ {
			o.results = append(o.results, c.Send(bytes.Repeat([]byte("q"), 60)))
		}
		c.Destroy()
		res <- o
	})
	o := <-res
	want := []workerman.SendResult{workerman.SendQueued, workerman.SendQueued, workerman.SendFailed, workerman.SendFailed}
	if fmt.Sprint(o.results) != fmt.Sprint(want) || o.full != 1 {
		t.Fatalf("results %v, OnBufferFull %d times; want %v and 1", o.results, o.full, want)
	}
}
