package http_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

func TestRefusedRequests(t *testing.T) {
	handled := 0
	p := &wmhttp.Protocol{MaxBodySize: 1000, MaxHeaderCount: 20, MaxHeaderBytes: 4096, MaxRequestLine: 1024}
	addr := serve(t, p, func(c *workerman.Connection, r *wmhttp.Request) {
		handled++
		c.Send("ok")
	})
	many := strings.Repeat("X-A: b\r\n", 21)
	cases := []struct {
		name, raw string
		code      int
	}{
		{"bare LF", "GET / HTTP/1.1\nHost: a\n\n", 400},
		{"bare LF in header", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400},
		{"bare CR", "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n  z\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
		{"TE and CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400},
		{"two CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
		{"CL list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", 400},
		{"CL sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", 400},
		{"TE gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
		{"TE chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400},
		{"TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"TE twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"bad version", "GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400},
		{"http2", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
		{"bad method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"relative target", "GET x HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"control in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", 400},
		{"too many headers", "GET / HTTP/1.1\r\nHost: a\r\n" + many + "\r\n", 431},
		{"head too large", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", 5000) + "\r\n\r\n", 431},
		{"long request line", "GET /" + strings.Repeat("a", 2000) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"body too large", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", 413},
		{"chunked too large", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n", 413},
		{"bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
		{"chunk overrun", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", 400},
		{"bad expectation", "GET / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n", 417},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				c := dial(t, addr)
				io.WriteString(c, tc.raw)
				r := readResponse(t, bufio.NewReader(c), "GET")
				if r.StatusCode != tc.code {
					t.Fatalf("status %d, want %d", r.StatusCode, tc.code)
				}
				if !r.Close {
					t.Fatalf("no Connection: close on a refusal")
				}
				expectClosed(t, c, 5*time.Second)
			})
		}
	})
	wmDo(func() {})
	if h := loopInt(&handled); h != 0 {
		t.Fatalf("%d refused requests reached OnMessage", h)
	}
	// The server still serves others.
	if r := roundTrip(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); r.Body != "ok" {
		t.Fatalf("after refusals: %q", r.Body)
	}
}

// TestSmugglingLeavesNoSecondRequest sends a classic CL.TE request: the
// hidden request must never be served.
func TestSmugglingLeavesNoSecondRequest(t *testing.T) {
	var paths []string
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		paths = append(paths, r.Path())
		c.Send("ok")
	})
	c := dial(t, addr)
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n")
	io.Copy(io.Discard, c)
	var seen []string
	wmDo(func() { seen = append(seen, paths...) })
	for _, p := range seen {
		if p == "/admin" {
			t.Fatal("smuggled request served")
		}
	}
}

func TestSlowClientsTimeOut(t *testing.T) {
	p := &wmhttp.Protocol{ReadHeaderTimeout: time.Second, ReadTimeout: time.Second, IdleTimeout: time.Second}
	addr := serve(t, p, func(c *workerman.Connection, r *wmhttp.Request) { c.Send("ok") })
	// Slow head (slowloris): a byte now and then, never finishing.
	slow := dial(t, addr)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		io.WriteString(slow, "GET / HTTP/1.1\r\nHost: a\r\n")
		for i := 0; i < 40; i++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if _, err := io.WriteString(slow, "X"); err != nil {
				return
			}
		}
	}()
	// Slow body.
	body := dial(t, addr)
	io.WriteString(body, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab")
	// Idle keep-alive.
	idle := dial(t, addr)
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if r := readResponse(t, bufio.NewReader(idle), "GET"); r.Body != "ok" {
		t.Fatal(r.Body)
	}
	// Meanwhile another client is served normally.
	if r := roundTrip(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); r.Body != "ok" {
		t.Fatal(r.Body)
	}
	for name, c := range map[string]net.Conn{"slow head": slow, "slow body": body} {
		c.SetReadDeadline(time.Now().Add(8 * time.Second))
		all, _ := io.ReadAll(c)
		if !strings.HasPrefix(string(all), "HTTP/1.1 408") {
			t.Fatalf("%s: got %q, want a 408", name, all)
		}
	}
	expectClosed(t, idle, 8*time.Second)
}

// TestWriteTimeout: a client that asks for a large response and never
// reads it is dropped once its send buffer makes no progress.
func TestWriteTimeout(t *testing.T) {
	closed := make(chan struct{})
	w := workerman.NewWorker("http://127.0.0.1:0")
	w.Protocol = &wmhttp.Protocol{WriteTimeout: time.Second}
	w.OnMessage = func(c *workerman.Connection, data any) {
		// Twice the largest socket send buffer the kernel grows to by
		// default (4 MiB): most of it waits in the send buffer.
		c.MaxSendBufferSize = 64 << 20
		c.Send(make([]byte, 8<<20))
	}
	w.OnClose = func(c *workerman.Connection) { close(closed) }
	addr := serveWorker(t, w)
	c := dial(t, addr)
	c.(*net.TCPConn).SetReadBuffer(4096)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	select {
	case <-closed:
	case <-time.After(30 * time.Second): // far beyond 1 s, for a loaded machine
		t.Fatal("connection of a client that does not read was kept")
	}
}
