package http_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

// What an HTTP connection sees when its process stops (Protocol.Drain).

// drainWorker starts an http worker and returns it with its address.
func drainWorker(t *testing.T, f func(c *workerman.Connection, r *wmhttp.Request)) (*workerman.Worker, string) {
	t.Helper()
	w := workerman.NewWorker("http://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) { f(c, data.(*wmhttp.Request)) }
	return w, wmtest.Serve(t, w)
}

// drain asks the protocol of every connection of w to end it.
func drain(w *workerman.Worker) {
	wmtest.Do(func() {
		for _, c := range w.Connections {
			c.Protocol.(workerman.Drainer).Drain(c)
		}
	})
}

func drainGet(t *testing.T, c net.Conn, br *bufio.Reader, path string) rawResponse {
	t.Helper()
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return readResponse(t, br, "GET")
}

// The request in flight is answered, with Connection: close, and the
// connection closes after it.
func TestDrainRequestInFlight(t *testing.T) {
	var pending *workerman.Connection
	w, addr := drainWorker(t, func(c *workerman.Connection, r *wmhttp.Request) {
		if r.Path() == "/later" {
			pending = c
			return
		}
		c.Send("now")
	})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	if r := drainGet(t, c, br, "/"); r.Close {
		t.Fatal("a keep-alive response said Connection: close")
	}
	io.WriteString(c, "GET /later HTTP/1.1\r\nHost: x\r\n\r\n")
	for wait := 0; ; wait++ {
		var got bool
		wmtest.Do(func() { got = pending != nil })
		if got {
			break
		}
		if wait > 500 {
			t.Fatal("the request did not arrive")
		}
		time.Sleep(10 * time.Millisecond)
	}
	drain(w)
	wmtest.Do(func() { pending.Send("later") })
	r := readResponse(t, br, "GET")
	// (net/http reads "Connection: close" into Close.)
	if r.Body != "later" || !r.Close {
		t.Fatalf("response %v %q", r.Header, r.Body)
	}
	expectClosed(t, c, 5*time.Second)
}

// An idle keep-alive connection whose client has been quiet for a second
// closes at once; one that was busy a moment ago has its next request
// answered with Connection: close.
func TestDrainIdle(t *testing.T) {
	w, addr := drainWorker(t, func(c *workerman.Connection, r *wmhttp.Request) { c.Send("hi") })
	quiet := dial(t, addr)
	drainGet(t, quiet, bufio.NewReader(quiet), "/")
	busy := dial(t, addr)
	bbr := bufio.NewReader(busy)
	time.Sleep(1200 * time.Millisecond)
	drainGet(t, busy, bbr, "/")
	drain(w)
	expectClosed(t, quiet, 500*time.Millisecond)
	r := drainGet(t, busy, bbr, "/")
	if !r.Close || r.Body != "hi" {
		t.Fatalf("next request of a busy client: %v %q", r.Header, r.Body)
	}
	expectClosed(t, busy, 5*time.Second)
}

// A busy client that sends nothing more is closed once it has been quiet
// for a second.
func TestDrainBusyThenQuiet(t *testing.T) {
	w, addr := drainWorker(t, func(c *workerman.Connection, r *wmhttp.Request) { c.Send("hi") })
	c := dial(t, addr)
	drainGet(t, c, bufio.NewReader(c), "/")
	drain(w)
	start := time.Now()
	expectClosed(t, c, 5*time.Second)
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("closed after %v; a client busy a moment ago has a second to send its next request", d)
	}
}

// A stream of server-sent events ends, so that EventSource reconnects to
// a process that is not stopping.
func TestDrainEventStream(t *testing.T) {
	w, addr := drainWorker(t, func(c *workerman.Connection, r *wmhttp.Request) {
		c.Send(wmhttp.NewResponse(200, map[string]string{"Content-Type": "text/event-stream"}, ""))
		c.Send(wmhttp.ServerSentEvent{Data: "one"})
	})
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp := readHead(t, br)
	if !strings.Contains(resp, "text/event-stream") {
		t.Fatalf("head %q", resp)
	}
	if line, _ := br.ReadString('\n'); line != "data: one\n" {
		t.Fatalf("event %q", line)
	}
	drain(w)
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "\n" {
		t.Fatalf("after the drain: %q %v, want the end of the event and EOF", rest, err)
	}
}

// readHead reads a response head.
func readHead(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(line)
		if line == "\r\n" {
			return b.String()
		}
	}
}
