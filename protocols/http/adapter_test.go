package http_test

import (
	"bufio"
	"fmt"
	"io"
	nethttp "net/http"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

func TestNetHTTPAdapter(t *testing.T) {
	mux := nethttp.NewServeMux()
	mux.HandleFunc("GET /hello/{name}", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("X-Mw", r.Header.Get("X-Mw"))
		fmt.Fprintf(w, "hello %s %s", r.PathValue("name"), r.URL.Query().Get("q"))
	})
	mux.HandleFunc("POST /echo", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		b, _ := io.ReadAll(r.Body)
		r.ParseForm()
		w.WriteHeader(202)
		fmt.Fprintf(w, "%s|%d|%s", r.Host, len(b), r.RemoteAddr[:10])
	})
	mux.HandleFunc("GET /stream", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "tick%d;", i)
			w.(nethttp.Flusher).Flush()
			time.Sleep(5 * time.Millisecond)
		}
	})
	mux.HandleFunc("GET /panic", func(w nethttp.ResponseWriter, r *nethttp.Request) { panic("boom") })
	cancelled := make(chan struct{})
	mux.HandleFunc("GET /wait", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		<-r.Context().Done()
		close(cancelled)
	})
	// Middleware, as users write it for net/http.
	var h nethttp.Handler = nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		r.Header.Set("X-Mw", "yes")
		mux.ServeHTTP(w, r)
	})
	w := workerman.NewWorker("http://127.0.0.1:0")
	w.OnMessage = wmhttp.Handler(h)
	addr := wmtest.Serve(t, w)
	base := "http://" + addr
	cl := client()

	resp, err := cl.Get(base + "/hello/gopher?q=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hello gopher 1" || resp.Header.Get("X-Mw") != "yes" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("hello: %q %v", b, resp.Header)
	}
	resp, err = cl.Post(base+"/echo", "text/plain", strings.NewReader(strings.Repeat("x", 3000)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 202 || string(b) != addr+"|3000|127.0.0.1:" {
		t.Fatalf("echo: %d %q", resp.StatusCode, b)
	}
	resp, err = cl.Get(base + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "tick0;tick1;tick2;" || len(resp.TransferEncoding) == 0 {
		t.Fatalf("stream: %q %v", b, resp.TransferEncoding)
	}
	if resp, err = cl.Get(base + "/nothing"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("404: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = cl.Get(base + "/panic")
	if err != nil || resp.StatusCode != 500 {
		t.Fatalf("panic: %v %v", resp, err)
	}
	resp.Body.Close()
	// Pipelined requests through the adapter come back in order.
	c := dial(t, addr)
	io.WriteString(c, "GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/b HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/c HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	for _, n := range []string{"a", "b", "c"} {
		if r := readResponse(t, br, "GET"); r.Body != "hello "+n+" " {
			t.Fatalf("pipelined %s: %q", n, r.Body)
		}
	}
	// A client that goes away cancels the request's context.
	c = dial(t, addr)
	io.WriteString(c, "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("context not cancelled when the client left")
	}
}

// TestAdapterOptionsAsterisk: "OPTIONS *" is answered without the
// handler, as net/http answers it.
func TestAdapterOptionsAsterisk(t *testing.T) {
	called := 0
	w := workerman.NewWorker("http://127.0.0.1:0")
	w.OnMessage = wmhttp.Handler(nethttp.HandlerFunc(func(rw nethttp.ResponseWriter, r *nethttp.Request) {
		wmDo(func() { called++ })
		rw.WriteHeader(418)
	}))
	addr := serveWorker(t, w)
	r := roundTrip(t, addr, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")
	if r.StatusCode != 200 || r.Body != "" || r.ContentLength != 0 {
		t.Fatalf("OPTIONS *: %d %q %d", r.StatusCode, r.Body, r.ContentLength)
	}
	if r := roundTrip(t, addr, "OPTIONS /x HTTP/1.1\r\nHost: a\r\n\r\n"); r.StatusCode != 418 {
		t.Fatalf("OPTIONS /x: %d", r.StatusCode)
	}
	if n := loopInt(&called); n != 1 {
		t.Fatalf("handler called %d times", n)
	}
}
