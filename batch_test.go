//go:build linux

package workerman_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// fanOutWorker is a text server that sends every line a connection sends
// to every other connection, and panics on the line "panic".
func fanOutWorker(t *testing.T, rec *recorder, maxSend int) (string, *workerman.Worker) {
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnConnect = func(c *workerman.Connection) {
		if maxSend > 0 {
			c.MaxSendBufferSize = maxSend
		}
		rec.add("connect")
	}
	w.OnError = func(c *workerman.Connection, code int, msg string) { rec.add("error " + msg) }
	w.OnMessage = func(c *workerman.Connection, data any) {
		if data.(string) == "panic" {
			panic("test panic in a batch")
		}
		for _, o := range w.Connections {
			if o != c {
				o.Send(data)
			}
		}
	}
	return wmtest.Serve(t, w), w
}

// loopWrites is how many write system calls the loop's thread has made
// (the loop keeps its OS thread, so /proc/thread-self is the loop's).
func loopWrites(t *testing.T) int {
	var s string
	var err error
	wmtest.Do(func() {
		var b []byte
		b, err = os.ReadFile("/proc/thread-self/io")
		s = string(b)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no syscw in /proc/thread-self/io: %q", s)
	return 0
}

// dialSubscribers connects n clients and waits until the server has
// them all.
func dialSubscribers(t *testing.T, rec *recorder, addr string, n int) []net.Conn {
	subs := make([]net.Conn, n)
	for i := range subs {
		subs[i] = dial(t, "tcp", addr)
		rec.wait(t, "connect")
	}
	return subs
}

// burstFanOut writes msgs lines to pub in one write, checks that every
// subscriber reads them all in order, and returns how many writes the
// loop made meanwhile.
func burstFanOut(t *testing.T, pub io.Writer, subs []io.Reader, msgs int) int {
	t.Helper()
	var burst bytes.Buffer
	for i := range msgs {
		fmt.Fprintf(&burst, "m%03d\n", i)
	}
	before := loopWrites(t)
	if _, err := pub.Write(burst.Bytes()); err != nil {
		t.Fatal(err)
	}
	for i, s := range subs {
		got := make([]byte, burst.Len())
		if _, err := io.ReadFull(s, got); err != nil {
			t.Fatalf("subscriber %d: %v", i, err)
		}
		if !bytes.Equal(got, burst.Bytes()) {
			t.Fatalf("subscriber %d got the burst damaged or out of order: %q", i, got)
		}
	}
	return loopWrites(t) - before
}

func readers[C io.Reader](cs []C) []io.Reader {
	rs := make([]io.Reader, len(cs))
	for i, c := range cs {
		rs[i] = c
	}
	return rs
}

// TestBatchFanOut: messages that arrive together on one connection and are
// each sent to many others reach every subscriber complete and in order,
// and each subscriber's share of the burst leaves in about one write, not
// one write per message.
func TestBatchFanOut(t *testing.T) {
	const subsN, msgs = 20, 100
	rec := newRecorder()
	addr, _ := fanOutWorker(t, rec, 0)
	subs := dialSubscribers(t, rec, addr, subsN)
	pub := dial(t, "tcp", addr)
	rec.wait(t, "connect")

	writes := burstFanOut(t, pub, readers(subs), msgs)
	t.Logf("%d messages to %d subscribers: %d writes by the loop", msgs, subsN, writes)
	if workerman.EventLoop().Completions() {
		// io_uring sends leave through io_uring_enter, not write(2).
		return
	}
	// One write per subscriber per read of the publisher's burst; the
	// burst is one write of 500 bytes, which the server may still read
	// in two or three pieces. Without batching it is msgs×subsN.
	if writes > 4*subsN {
		t.Fatalf("the loop made %d writes for %d messages to %d subscribers; want at most %d", writes, msgs, subsN, 4*subsN)
	}
}

// TestBatchWithinSmallSendBuffer: a burst fanned out to connections whose
// send buffer limit is smaller than their share of it is written as it
// grows, not found full and dropped.
func TestBatchWithinSmallSendBuffer(t *testing.T) {
	const subsN, msgs = 5, 200
	rec := newRecorder()
	addr, _ := fanOutWorker(t, rec, 1<<10)
	subs := dialSubscribers(t, rec, addr, subsN)
	pub := dial(t, "tcp", addr)
	rec.wait(t, "connect")

	var burst bytes.Buffer
	line := strings.Repeat("x", 90)
	for i := range msgs {
		fmt.Fprintf(&burst, "%03d%s\n", i, line)
	}
	if _, err := pub.Write(burst.Bytes()); err != nil {
		t.Fatal(err)
	}
	for i, s := range subs {
		got := make([]byte, burst.Len())
		if _, err := io.ReadFull(s, got); err != nil {
			t.Fatalf("subscriber %d: %v (events %v)", i, err, rec.list())
		}
		if !bytes.Equal(got, burst.Bytes()) {
			t.Fatalf("subscriber %d got the burst damaged or out of order", i)
		}
	}
	for _, e := range rec.list() {
		if strings.HasPrefix(e, "error") {
			t.Fatalf("a send failed: %v", rec.list())
		}
	}
}

// TestBatchPanicFlushes: a handler that panics in the middle of a batch
// closes only its connection; what the batch queued before the panic is
// still written, and later sends are not held back.
func TestBatchPanicFlushes(t *testing.T) {
	rec := newRecorder()
	addr, _ := fanOutWorker(t, rec, 0)
	sub := dialSubscribers(t, rec, addr, 1)[0]
	pub := dial(t, "tcp", addr)
	rec.wait(t, "connect")
	if _, err := pub.Write([]byte("before\npanic\nlost\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(sub)
	if l, err := r.ReadString('\n'); err != nil || l != "before\n" {
		t.Fatalf("read %q, %v; want the line queued before the panic", l, err)
	}
	// The publisher was closed by the panic; a new one's single message
	// (no batch) arrives too.
	if _, err := io.ReadAll(pub); err != nil {
		t.Fatal(err)
	}
	pub2 := dial(t, "tcp", addr)
	rec.wait(t, "connect")
	if _, err := pub2.Write([]byte("after\n")); err != nil {
		t.Fatal(err)
	}
	if l, err := r.ReadString('\n'); err != nil || l != "after\n" {
		t.Fatalf("read %q, %v; want the line sent after the panic", l, err)
	}
}

// TestBatchNoDrainWhenWrittenWhole: output a batch queued and the kernel
// then took whole never waited for the socket, so it fires no
// OnBufferDrain, as a send written at once fires none.
func TestBatchNoDrainWhenWrittenWhole(t *testing.T) {
	if workerman.EventLoop().Completions() {
		t.Skip("on io_uring every send waits in the buffer and OnBufferDrain runs whenever one empties it (README.md, io_uring)")
	}
	rec := newRecorder()
	addr, w := fanOutWorker(t, rec, 0)
	wmtest.Do(func() { w.OnBufferDrain = func(*workerman.Connection) { rec.add("drain") } })
	subs := dialSubscribers(t, rec, addr, 3)
	pub := dial(t, "tcp", addr)
	rec.wait(t, "connect")
	burst := []byte("a\nb\nc\n")
	if _, err := pub.Write(burst); err != nil {
		t.Fatal(err)
	}
	for i, s := range subs {
		got := make([]byte, len(burst))
		if _, err := io.ReadFull(s, got); err != nil || !bytes.Equal(got, burst) {
			t.Fatalf("subscriber %d read %q, %v", i, got, err)
		}
	}
	wmtest.Do(func() {}) // a round after the writes
	if n := rec.count("drain"); n != 0 {
		t.Fatalf("OnBufferDrain fired %d times for output the kernel took at once", n)
	}
}

// TestBatchFanOutTLS is TestBatchFanOut over TLS: each subscriber's
// share of the burst is sealed as it is sent and its records leave
// together when the batch ends.
func TestBatchFanOutTLS(t *testing.T) {
	const subsN, msgs = 10, 100
	rec := newRecorder()
	e := newTLSEnv(t)
	_, addr := serveTLS(t, e, "text://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnConnect = func(*workerman.Connection) { rec.add("connect") }
		w.OnMessage = func(c *workerman.Connection, data any) {
			for _, o := range w.Connections {
				if o != c {
					o.Send(data)
				}
			}
		}
	})
	subs := make([]*tls.Conn, subsN)
	for i := range subs {
		subs[i] = tlsDial(t, addr, e.clientConfig())
		rec.wait(t, "connect")
	}
	pub := tlsDial(t, addr, e.clientConfig())
	rec.wait(t, "connect")
	// Let the handshakes' last records (session tickets) leave first.
	for _, s := range append(subs, pub) {
		s.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		s.Read(make([]byte, 1))
		s.SetDeadline(time.Now().Add(20 * time.Second))
	}

	writes := burstFanOut(t, pub, readers(subs), msgs)
	t.Logf("%d messages to %d TLS subscribers: %d writes by the loop", msgs, subsN, writes)
	if writes > 4*subsN {
		t.Fatalf("the loop made %d writes for %d messages to %d subscribers; want at most %d", writes, msgs, subsN, 4*subsN)
	}
}
