package http_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	nethttp "net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

// echoInfo answers with what the server parsed, one "key=value" a line.
func echoInfo(c *workerman.Connection, r *wmhttp.Request) {
	var b strings.Builder
	fmt.Fprintf(&b, "method=%s\nuri=%s\npath=%s\nqs=%s\nversion=%s\nkeepalive=%v\nhost=%s\n",
		r.Method(), r.URI(), r.Path(), r.QueryString(), r.ProtocolVersion(), r.KeepAlive(), r.HostName())
	fmt.Fprintf(&b, "get.a=%s\nget.b=%s\n", r.Get("a"), r.Get("b"))
	fmt.Fprintf(&b, "post.x=%s\npost.y=%s\n", r.Post("x"), r.Post("y"))
	fmt.Fprintf(&b, "cookie.sid=%s\ncookie.t=%s\n", r.Cookie("sid"), r.Cookie("t"))
	fmt.Fprintf(&b, "header.x-test=%s\n", r.Header("x-test"))
	fmt.Fprintf(&b, "bodylen=%d\n", r.ContentLength())
	fmt.Fprintf(&b, "remote=%v\n", r.RemoteIP() == "127.0.0.1")
	for field, fs := range r.Files() {
		for _, f := range fs {
			data, err := f.Data()
			if err != nil {
				fmt.Fprintf(&b, "file.err=%v\n", err)
			}
			fmt.Fprintf(&b, "file.%s=%s,%d,%s,%d\n", field, f.Name, f.Size, f.ContentType, bytes.Count(data, []byte("z")))
		}
	}
	c.Send(b.String())
}

func parseInfo(s string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

func TestRequestFields(t *testing.T) {
	addr := serve(t, nil, echoInfo)
	req, _ := nethttp.NewRequest("POST", "http://"+addr+"/p/a%20th?a=1&b=two+words&a=2", strings.NewReader("x=hello&y=%E4%BD%A0"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Test", "  padded  ")
	req.AddCookie(&nethttp.Cookie{Name: "sid", Value: "abc"})
	req.AddCookie(&nethttp.Cookie{Name: "t", Value: "42"})
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := parseInfo(string(b))
	want := map[string]string{
		"method": "POST", "uri": "/p/a%20th?a=1&b=two+words&a=2", "path": "/p/a%20th", "qs": "a=1&b=two+words&a=2",
		"version": "1.1", "keepalive": "true", "host": "127.0.0.1", "get.a": "1", "get.b": "two words",
		"post.x": "hello", "post.y": "你", "cookie.sid": "abc", "cookie.t": "42", "header.x-test": "padded",
		"bodylen": "19", "remote": "true",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
}

func TestJSONBody(t *testing.T) {
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		var v struct{ N int }
		err := r.JSON(&v)
		c.Send(fmt.Sprintf("%s|%s|%d|%v", r.Post("x"), r.Post("m"), v.N, err))
	})
	resp, err := client().Post("http://"+addr+"/", "application/json", strings.NewReader(`{"x":"str\u00e9","N":7,"m":1.5}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "stré|1.5|7|<nil>" {
		t.Fatalf("got %q", b)
	}
}

func multipartBody(t *testing.T, files map[string]int) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("x", "field value")
	for name, size := range files {
		fw, err := mw.CreateFormFile("up", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(bytes.Repeat([]byte("z"), size))
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func TestMultipartUpload(t *testing.T) {
	addr := serve(t, &wmhttp.Protocol{BodyMemoryLimit: 64 << 10, MaxBodySize: 8 << 20}, echoInfo)
	for _, size := range []int{10, 3 << 20} { // in memory, and streamed to a file
		ct, body := multipartBody(t, map[string]int{"a.png": size})
		resp, err := client().Post("http://"+addr+"/up", ct, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := parseInfo(string(b))
		if want := fmt.Sprintf("a.png,%d,application/octet-stream,%d", size, size); m["file.up"] != want {
			t.Fatalf("size %d: file.up = %q, want %q (%s)", size, m["file.up"], want, b)
		}
		if m["post.x"] != "field value" {
			t.Fatalf("post.x = %q", m["post.x"])
		}
	}
}

// TestLargeBodyStreamsToFile checks that a body over BodyMemoryLimit never
// sits whole in memory: the connection's receive buffer stays small while
// it arrives.
func TestLargeBodyStreamsToFile(t *testing.T) {
	const size = 6 << 20
	maxRecv := 0
	p := &wmhttp.Protocol{BodyMemoryLimit: 128 << 10, MaxBodySize: 16 << 20}
	w := workerman.NewWorker("http://127.0.0.1:0")
	w.Protocol = p
	w.OnMessage = func(c *workerman.Connection, data any) {
		r := data.(*wmhttp.Request)
		rd := r.BodyReader()
		n, _ := io.Copy(io.Discard, rd)
		c.Send(fmt.Sprintf("%d %d", n, maxRecv))
	}
	w.OnConnect = func(c *workerman.Connection) {
		orig := c.Protocol
		c.Protocol = recvSpy{orig, &maxRecv}
	}
	addr := serveWorker(t, w)
	for _, chunked := range []bool{false, true} {
		wmDo(func() { maxRecv = 0 })
		var body io.Reader = bytes.NewReader(bytes.Repeat([]byte("q"), size))
		if chunked {
			body = io.MultiReader(body) // unknown length: net/http sends it chunked
		}
		req, _ := nethttp.NewRequest("PUT", "http://"+addr+"/big", body)
		resp, err := client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var n, mr int
		fmt.Sscanf(string(b), "%d %d", &n, &mr)
		if n != size {
			t.Fatalf("chunked=%v: server saw %d bytes, want %d", chunked, n, size)
		}
		if mr > 512<<10 {
			t.Fatalf("chunked=%v: receive buffer grew to %d bytes", chunked, mr)
		}
	}
}

// recvSpy records the largest buffer handed to Input.
type recvSpy struct {
	workerman.Protocol
	max *int
}

func (s recvSpy) Input(buf []byte, c *workerman.Connection) (int, error) {
	if len(buf) > *s.max {
		*s.max = len(buf)
	}
	return s.Protocol.Input(buf, c)
}

func TestChunkedRequestBody(t *testing.T) {
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		c.Send(string(r.RawBody()) + "|" + r.Post("x"))
	})
	raw := "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n" +
		"4;ext=1\r\nx=ab\r\n3\r\ncde\r\n0\r\nTrailer-A: b\r\n\r\n"
	r := roundTrip(t, addr, raw)
	if r.StatusCode != 200 || r.Body != "x=abcde|abcde" {
		t.Fatalf("got %d %q", r.StatusCode, r.Body)
	}
}

func TestPipelinedInOrder(t *testing.T) {
	// Even requests are answered at once, odd ones later from a timer: the
	// answers must still come back in request order.
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		n := r.Get("n")
		if n[len(n)-1]%2 == 1 {
			workerman.Timer.Once(20*time.Millisecond, func() { c.Send("r" + n) })
			return
		}
		c.Send("r" + n)
	})
	c := dial(t, addr)
	var b strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&b, "GET /?n=%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	b.WriteString("POST /?n=10 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
	io.WriteString(c, b.String())
	br := bufio.NewReader(c)
	for i := 0; i <= 10; i++ {
		r := readResponse(t, br, "GET")
		if r.Body != fmt.Sprintf("r%d", i) {
			t.Fatalf("response %d: %q", i, r.Body)
		}
	}
}

func TestHTTP10(t *testing.T) {
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) { c.Send("ok") })
	// Without keep-alive the connection closes after the response.
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	all, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(all, []byte("\r\n\r\nok")) || !bytes.Contains(all, []byte("Connection: close")) {
		t.Fatalf("got %q", all)
	}
	// With keep-alive it stays open and says so.
	c = dial(t, addr)
	br := bufio.NewReader(c)
	for i := 0; i < 2; i++ {
		io.WriteString(c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		r := readResponse(t, br, "GET")
		if r.Close || r.Header.Get("Connection") != "keep-alive" || r.Body != "ok" {
			t.Fatalf("got %v %q", r.Header, r.Body)
		}
	}
}

func TestConnectionClose(t *testing.T) {
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		if r.Get("server") != "" {
			c.Send(wmhttp.NewResponse(200, map[string]string{"Connection": "close"}, "bye"))
			return
		}
		c.Send("ok")
	})
	for _, raw := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /?server=1 HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
	} {
		c := dial(t, addr)
		io.WriteString(c, raw)
		all, _ := io.ReadAll(c)
		if n := bytes.Count(all, []byte("HTTP/1.1 200")); n != 1 {
			t.Fatalf("%d responses after Connection: close: %q", n, all)
		}
	}
}

func TestHeadRequest(t *testing.T) {
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) { c.Send("twelve bytes") })
	c := dial(t, addr)
	io.WriteString(c, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c)
	r := readResponse(t, br, "HEAD")
	if r.ContentLength != 12 || r.Body != "" {
		t.Fatalf("HEAD: %d %q", r.ContentLength, r.Body)
	}
	if r := readResponse(t, br, "GET"); r.Body != "twelve bytes" {
		t.Fatalf("GET after HEAD: %q", r.Body)
	}
}

func TestExpectContinue(t *testing.T) {
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) { c.Send(string(r.RawBody())) })
	c := dial(t, addr)
	io.WriteString(c, "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	if line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("got %q", line)
	}
	br.ReadString('\n')
	io.WriteString(c, "hello")
	if r := readResponse(t, br, "PUT"); r.Body != "hello" {
		t.Fatalf("got %q", r.Body)
	}
}

func TestAbsoluteFormTarget(t *testing.T) {
	addr := serve(t, nil, echoInfo)
	r := roundTrip(t, addr, "GET http://Example.COM:81/x/y?a=z HTTP/1.1\r\nHost: example.com:81\r\n\r\n")
	m := parseInfo(r.Body)
	if m["path"] != "/x/y" || m["get.a"] != "z" || m["host"] != "example.com" {
		t.Fatalf("got %v", m)
	}
}

var _ = url.Values{}
var _ = os.Getpid

// A connection with a small MaxPackageSize still takes bodies up to
// MaxBodySize: they are streamed instead of buffered in one package.
func TestBodyLargerThanMaxPackageSize(t *testing.T) {
	w := workerman.NewWorker("http://127.0.0.1:0")
	w.Protocol = &wmhttp.Protocol{MaxBodySize: 1 << 20}
	w.OnConnect = func(c *workerman.Connection) { c.MaxPackageSize = 1000 }
	w.OnMessage = func(c *workerman.Connection, data any) {
		c.Send(fmt.Sprint(len(data.(*wmhttp.Request).RawBody())))
	}
	addr := serveWorker(t, w)
	resp, err := client().Post("http://"+addr+"/", "text/plain", strings.NewReader(strings.Repeat("b", 5000)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "5000" {
		t.Fatalf("got %q", b)
	}
}

// TestDribbledPipeline sends a pipeline of different requests in pieces of
// a few bytes, so every parser state is resumed across reads, and checks
// each answer.
func TestDribbledPipeline(t *testing.T) {
	p := &wmhttp.Protocol{BodyMemoryLimit: 16} // bodies over 16 bytes stream
	addr := serve(t, p, func(c *workerman.Connection, r *wmhttp.Request) {
		c.Send(fmt.Sprintf("%s %s %q", r.Method(), r.Path(), r.RawBody()))
	})
	long := strings.Repeat("L", 100)
	reqs := []struct{ raw, want string }{
		{"GET /a HTTP/1.1\r\nHost: x\r\n\r\n", `GET /a ""`},
		{"\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", `POST /b "hello"`},
		{"POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + long, `POST /c "` + long + `"`},
		{"POST /d HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nchunk\r\n1a;e=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nT: 1\r\n\r\n", `POST /d "chunkabcdefghijklmnopqrstuvwxyz"`},
		{"GET /e HTTP/1.1\r\nHost: x\r\n\r\n", `GET /e ""`},
	}
	var all strings.Builder
	for _, r := range reqs {
		all.WriteString(r.raw)
	}
	c := dial(t, addr)
	c.(*net.TCPConn).SetNoDelay(true)
	data := all.String()
	go func() {
		for i := 0; i < len(data); {
			n := 1 + i%7
			if i+n > len(data) {
				n = len(data) - i
			}
			if _, err := io.WriteString(c, data[i:i+n]); err != nil {
				return
			}
			i += n
			if i%5 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	br := bufio.NewReader(c)
	for _, r := range reqs {
		if got := readResponse(t, br, "GET"); got.Body != r.want {
			t.Fatalf("got %q, want %q", got.Body, r.want)
		}
	}
}
