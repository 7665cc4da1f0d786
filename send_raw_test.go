package workerman_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// TestSendRaw: SendRaw bypasses the protocol's Encode (Workerman's
// send($data, true)), for strings, byte slices and fmt.Stringers, while
// Send on the same connection still encodes.
func TestSendRaw(t *testing.T) {
	w := workerman.NewWorker("text://127.0.0.1:0")
	results := make(chan workerman.SendResult, 8)
	w.OnMessage = func(c *workerman.Connection, data any) {
		results <- c.SendRaw("raw-string|")
		results <- c.SendRaw([]byte("raw-bytes|"))
		results <- c.SendRaw(3 * time.Second) // a fmt.Stringer
		results <- c.Send("encoded")
		// A value that is no bytes cannot be sent raw: nothing is written.
		results <- c.SendRaw(42)
	}
	addr := wmtest.Serve(t, w)
	c := dial(t, "tcp", addr)
	c.Write([]byte("go\n"))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	// Only Send's text-protocol framing adds a newline.
	if want := "raw-string|raw-bytes|3sencoded\n"; line != want {
		t.Fatalf("got %q, want %q", line, want)
	}
	// On io_uring every send waits for the end of the loop round.
	ok := workerman.SendOK
	if workerman.EventLoop().Completions() {
		ok = workerman.SendQueued
	}
	for i, want := range []workerman.SendResult{ok, ok, ok, ok, workerman.SendFailed} {
		if r := <-results; r != want {
			t.Errorf("send %d = %v, want %v", i, r, want)
		}
	}
	// SendRaw on a closed connection fails without writing.
	var after workerman.SendResult
	wmtest.Do(func() {
		for _, conn := range w.Connections {
			conn.Destroy()
			after = conn.SendRaw("late")
		}
	})
	if after != workerman.SendFailed {
		t.Errorf("SendRaw after Destroy = %v, want SendFailed", after)
	}
}

// TestSendFailWhenPeerGone: data still queued for a peer that resets the
// connection fails with OnError(SendFail), followed by OnClose, as in
// Workerman; the failure is counted in the process's SendFail.
func TestSendFailWhenPeerGone(t *testing.T) {
	rec := newRecorder()
	w := workerman.NewWorker("tcp://127.0.0.1:0")
	queued := make(chan workerman.SendResult, 1)
	w.OnMessage = func(c *workerman.Connection, data any) {
		// More than the kernel buffers hold for a client that reads
		// nothing: the rest waits in the send buffer.
		queued <- c.Send(strings.Repeat("x", 16<<20))
	}
	w.OnError = func(c *workerman.Connection, code int, msg string) {
		rec.add(fmt.Sprintf("error %d %s", code, msg))
	}
	w.OnClose = func(c *workerman.Connection) { rec.add("close") }
	addr := wmtest.Serve(t, w)
	var before int64
	wmtest.Do(func() { before = workerman.ProcessStats().SendFail })

	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte("go"))
	select {
	case r := <-queued:
		if r != workerman.SendQueued {
			t.Fatalf("Send = %v, want SendQueued", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnMessage did not run")
	}
	// The peer goes away with a reset while data is queued for it.
	nc.(*net.TCPConn).SetLinger(0)
	nc.Close()

	rec.wait(t, "close")
	if got := rec.list(); len(got) != 2 || got[0] != "error 2 client closed" || got[1] != "close" {
		t.Fatalf("events %q, want OnError(SendFail, client closed) then OnClose", got)
	}
	var after int64
	wmtest.Do(func() { after = workerman.ProcessStats().SendFail })
	if after != before+1 {
		t.Errorf("SendFail went from %d to %d, want one more", before, after)
	}
}
