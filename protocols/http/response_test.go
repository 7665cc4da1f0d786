package http_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	nethttp "net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

func TestResponseHeadersAndCookies(t *testing.T) {
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		resp := wmhttp.NewResponse(201, map[string]string{"Content-Type": "application/json", "X-A": "1"}, `{"ok":true}`).
			WithCookie(&wmhttp.Cookie{Name: "a", Value: "b", Path: "/p", Domain: "example.com", MaxAge: 60,
				Expires: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), Secure: true, HttpOnly: true, SameSite: wmhttp.SameSiteStrictMode}).
			WithCookie(&wmhttp.Cookie{Name: "c", Value: "d"})
		c.Send(resp)
	})
	resp, err := client().Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || string(b) != `{"ok":true}` || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("X-A") != "1" {
		t.Fatalf("got %d %v %q", resp.StatusCode, resp.Header, b)
	}
	sc := resp.Header.Values("Set-Cookie")
	want := "a=b; Path=/p; Domain=example.com; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Max-Age=60; HttpOnly; Secure; SameSite=Strict"
	if len(sc) != 2 || sc[0] != want || sc[1] != "c=d" {
		t.Fatalf("Set-Cookie %q", sc)
	}
	if resp.Header.Get("Date") == "" || resp.Header.Get("Server") != "workerman" {
		t.Fatalf("Date/Server missing: %v", resp.Header)
	}
}

func TestHeaderInjectionRefused(t *testing.T) {
	var res workerman.SendResult
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		res = c.Send(wmhttp.NewResponse(200, map[string]string{"X": "a\r\nSet-Cookie: evil=1"}, ""))
		if res == workerman.SendFailed {
			c.Send("safe")
		}
	})
	r := roundTrip(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	var got workerman.SendResult
	wmDo(func() { got = res })
	if got != workerman.SendFailed || r.Body != "safe" || r.Header.Get("Set-Cookie") != "" {
		t.Fatalf("send %v, body %q, header %v", got, r.Body, r.Header)
	}
}

func TestChunkedResponse(t *testing.T) {
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		c.Send(wmhttp.NewResponse(200, map[string]string{"Transfer-Encoding": "chunked"}, "first,"))
		n := 0
		var id int
		id = workerman.Timer.Add(10*time.Millisecond, func() {
			n++
			if n <= 3 {
				c.Send(wmhttp.Chunk(fmt.Sprintf("part%d,", n)))
				return
			}
			workerman.Timer.Del(id)
			c.Send(wmhttp.Chunk(""))
		})
	})
	cl := client()
	for i := 0; i < 2; i++ { // the connection is reused after the last chunk
		resp, err := cl.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "first,part1,part2,part3," || len(resp.TransferEncoding) != 1 {
			t.Fatalf("got %q %v", b, resp.TransferEncoding)
		}
	}
	// HTTP/1.0 clients get the same body delimited by close.
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	all, _ := io.ReadAll(c)
	if !bytes.HasSuffix(all, []byte("\r\n\r\nfirst,part1,part2,part3,")) {
		t.Fatalf("HTTP/1.0 stream %q", all)
	}
}

func TestServerSentEvents(t *testing.T) {
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		c.Send(wmhttp.NewResponse(200, map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}, ""))
		c.Send(&wmhttp.ServerSentEvent{Event: "greet", Data: "hello\nworld", ID: "1", Retry: 2 * time.Second})
		c.Send(wmhttp.ServerSentEvent{Data: "second"})
		c.Send(wmhttp.ServerSentEvent{Comment: "ping"})
	})
	resp, err := client().Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatal(resp.Header)
	}
	want := "event: greet\nid: 1\nretry: 2000\ndata: hello\ndata: world\n\ndata: second\n\n: ping\n\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != want {
		t.Fatalf("got %q %v", got, err)
	}
}

func TestChunkWithoutStream(t *testing.T) {
	var res workerman.SendResult
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		res = c.Send(wmhttp.Chunk("x"))
		c.Send("plain")
		if c.Send("again") != workerman.SendFailed {
			res = 99
		}
	})
	r := roundTrip(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	var got workerman.SendResult
	wmDo(func() { got = res })
	if got != workerman.SendFailed || r.Body != "plain" {
		t.Fatalf("send %v body %q", got, r.Body)
	}
}

// TestLargeFileResponse sends a file much larger than the send buffer
// limit to a client that reads slowly at first: the server's send buffer
// must stay bounded, and every byte arrive.
func TestLargeFileResponse(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.bin")
	data := make([]byte, 12<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	os.WriteFile(path, data, 0o644)
	maxBuf := 0
	var conn *workerman.Connection
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		conn = c
		c.Send(wmhttp.NewResponse(200, nil, "").WithFile(path, 0, -1))
	})
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			wmDo(func() {
				if conn != nil && conn.SendBufferLen() > maxBuf {
					maxBuf = conn.SendBufferLen()
				}
			})
		}
	}()
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nRange: bytes=100-199\r\n\r\n")
	time.Sleep(300 * time.Millisecond) // not reading yet
	br := bufio.NewReader(c)
	r := readResponse(t, br, "GET")
	if r.ContentLength != int64(len(data)) || sha256.Sum256([]byte(r.Body)) != sha256.Sum256(data) {
		t.Fatalf("file body differs: %d bytes", len(r.Body))
	}
	// The second (pipelined) response waited for the file.
	r = readResponse(t, br, "GET")
	if r.StatusCode != 200 || len(r.Body) != len(data) {
		t.Fatalf("second: %d %d", r.StatusCode, len(r.Body))
	}
	var mb int
	wmDo(func() { mb = maxBuf })
	if mb > 2<<20 {
		t.Fatalf("send buffer reached %d bytes", mb)
	}
}

func TestFileRangeResponse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.txt")
	os.WriteFile(path, []byte("0123456789"), 0o644)
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		c.Send(wmhttp.NewResponse(200, map[string]string{"Content-Type": "text/plain"}, "").WithFile(path, 2, 5))
	})
	resp, err := nethttp.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "23456" {
		t.Fatalf("got %q", b)
	}
}

var _ = strings.Repeat

func TestSendOddValues(t *testing.T) {
	var results []workerman.SendResult
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		results = append(results,
			c.Send((*wmhttp.Response)(nil)),
			c.Send((*wmhttp.ServerSentEvent)(nil)),
			c.Send(42),
		)
		c.Send([]byte("bytes"))
	})
	r := roundTrip(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	var got []workerman.SendResult
	wmDo(func() { got = append(got, results...) })
	for i, res := range got {
		if res != workerman.SendFailed {
			t.Fatalf("send %d: %v", i, res)
		}
	}
	if r.Body != "bytes" || len(got) != 3 {
		t.Fatalf("body %q, results %v", r.Body, got)
	}
}
