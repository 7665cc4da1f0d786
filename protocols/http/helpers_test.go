package http_test

import (
	"bufio"
	"io"
	"net"
	nethttp "net/http"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

// serve starts an http worker whose OnMessage is f and returns its address.
func serve(t *testing.T, p *wmhttp.Protocol, f func(c *workerman.Connection, r *wmhttp.Request)) string {
	t.Helper()
	w := workerman.NewWorker("http://127.0.0.1:0")
	if p != nil {
		w.Protocol = p
	}
	w.OnMessage = func(c *workerman.Connection, data any) { f(c, data.(*wmhttp.Request)) }
	return wmtest.Serve(t, w)
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(15 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// rawResponse is one response read off a raw connection.
type rawResponse struct {
	*nethttp.Response
	Body string
}

func readResponse(t *testing.T, br *bufio.Reader, method string) rawResponse {
	t.Helper()
	resp, err := nethttp.ReadResponse(br, &nethttp.Request{Method: method})
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return rawResponse{resp, string(b)}
}

// roundTrip writes raw bytes and reads one response.
func roundTrip(t *testing.T, addr, raw string) rawResponse {
	t.Helper()
	c := dial(t, addr)
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	method := "GET"
	if strings.HasPrefix(raw, "HEAD ") {
		method = "HEAD"
	}
	return readResponse(t, bufio.NewReader(c), method)
}

// expectClosed reports whether the server closes c (EOF or reset) within
// the deadline, reading and dropping anything it sends first.
func expectClosed(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %v", within)
	}
}

func client() *nethttp.Client {
	return &nethttp.Client{Timeout: 15 * time.Second, Transport: &nethttp.Transport{MaxIdleConnsPerHost: 4}}
}

func serveWorker(t *testing.T, w *workerman.Worker) string {
	t.Helper()
	return wmtest.Serve(t, w)
}

func wmDo(f func()) { wmtest.Do(f) }

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func wmDoB(f func()) { wmtest.Do(f) }

// loopInt reads an int that callbacks write, on the loop.
func loopInt(p *int) int {
	var v int
	wmtest.Do(func() { v = *p })
	return v
}
