package http

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	nethttp "net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"sync"

	"github.com/workerman-go/workerman"
)

// Handler returns an OnMessage callback that serves each request with a
// net/http Handler, so routers and middleware written for net/http
// (ServeMux, chi, gorilla/mux …) run on a Workerman HTTP worker:
//
//	mux := nethttp.NewServeMux()
//	mux.HandleFunc("GET /hello/{name}", func(w nethttp.ResponseWriter, r *nethttp.Request) {
//		fmt.Fprintf(w, "hello %s", r.PathValue("name"))
//	})
//	w := workerman.NewWorker("http://0.0.0.0:8080")
//	w.OnMessage = http.Handler(mux)
//
// A net/http handler may block (it was written for a goroutine per
// request), so it runs on a goroutine of its own; its response is posted
// back to the event loop and sent there. That costs a goroutine start,
// the copy of the request into a *net/http.Request and a hand-over to the
// loop per request (see bench/http for the figures). Flush sends what was
// written so far as a chunked body. The request's context is cancelled
// when the client goes away. Hijack is not supported. "OPTIONS *" is
// answered with 200 and an empty body without calling h, as net/http's
// server does.
func Handler(h nethttp.Handler) func(c *workerman.Connection, data any) {
	return func(c *workerman.Connection, data any) {
		r, ok := data.(*Request)
		if !ok {
			c.Close()
			return
		}
		if r.URI() == "*" {
			c.Send(NewResponse(200, nil, ""))
			return
		}
		req, err := r.toNetHTTP()
		if err != nil {
			c.Send(NewResponse(400, nil, "400 Bad Request\n"))
			return
		}
		rw := &responseWriter{c: c, r: r, header: nethttp.Header{}}
		go rw.serve(h, req)
	}
}

// toNetHTTP builds the net/http view of r.
func (r *Request) toNetHTTP() (*nethttp.Request, error) {
	u, err := url.ParseRequestURI(r.URI())
	if err != nil {
		return nil, err
	}
	req := &nethttp.Request{
		Method:        r.Method(),
		URL:           u,
		Proto:         "HTTP/" + r.ProtocolVersion(),
		ProtoMajor:    1,
		ProtoMinor:    int(r.h.minor),
		Header:        r.netHeader(),
		ContentLength: r.ContentLength(),
		Host:          r.Host(),
		RemoteAddr:    r.RemoteAddress(),
		RequestURI:    r.URI(),
		Close:         !r.KeepAlive(),
	}
	if r.h.chunked {
		req.TransferEncoding = []string{"chunked"}
	}
	if r.ContentLength() > 0 {
		req.Body = r.BodyReader()
	} else {
		req.Body = nethttp.NoBody
	}
	return req.WithContext(r.Context()), nil
}

// responseWriter collects a net/http response on the handler's goroutine
// and hands it to the loop.
type responseWriter struct {
	c      *workerman.Connection
	r      *Request
	header nethttp.Header

	mu      sync.Mutex
	status  int
	buf     bytes.Buffer
	flushed bool // head sent as a chunked response
	done    bool
}

// Header implements net/http.ResponseWriter.
func (w *responseWriter) Header() nethttp.Header { return w.header }

// WriteHeader implements net/http.ResponseWriter.
func (w *responseWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 && code >= 200 {
		w.status = code
	}
}

// Write implements net/http.ResponseWriter.
func (w *responseWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return 0, errors.New("http: write after the handler returned")
	}
	if w.status == 0 {
		w.status = 200
	}
	return w.buf.Write(b)
}

// WriteString implements io.StringWriter.
func (w *responseWriter) WriteString(s string) (int, error) {
	return w.Write([]byte(s))
}

// Flush sends the head (first time) and what was written so far.
func (w *responseWriter) Flush() {
	w.mu.Lock()
	if w.status == 0 {
		w.status = 200
	}
	var resp *Response
	if !w.flushed {
		w.flushed = true
		resp = w.responseLocked()
		resp.WithHeader("Transfer-Encoding", "chunked")
	}
	data := bytes.Clone(w.buf.Bytes())
	w.buf.Reset()
	w.mu.Unlock()
	c := w.c
	workerman.Post(func() {
		if resp != nil {
			c.Send(resp)
		}
		if len(data) > 0 {
			c.Send(Chunk(data))
		}
	})
}

// Hijack is not supported: the connection belongs to the event loop.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, nethttp.ErrNotSupported
}

// responseLocked builds the Response of the head written so far.
func (w *responseWriter) responseLocked() *Response {
	resp := &Response{status: w.status}
	for k, vs := range w.header {
		for _, v := range vs {
			resp.fields = append(resp.fields, field{k, v})
		}
	}
	if w.header.Get("Content-Type") == "" && w.buf.Len() > 0 {
		resp.fields = append(resp.fields, field{"Content-Type", nethttp.DetectContentType(w.buf.Bytes())})
	}
	return resp
}

func (w *responseWriter) serve(h nethttp.Handler, req *nethttp.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p != nethttp.ErrAbortHandler {
				slog.Error("http: handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
			w.mu.Lock()
			w.done = true
			flushed := w.flushed
			w.mu.Unlock()
			c := w.c
			workerman.Post(func() {
				if flushed {
					c.Destroy()
					return
				}
				c.Send(NewResponse(500, nil, "500 Internal Server Error\n").WithHeader("Connection", "close"))
			})
		}
	}()
	h.ServeHTTP(w, req)
	io.Copy(io.Discard, io.LimitReader(req.Body, 1<<20))
	w.mu.Lock()
	w.done = true
	if w.status == 0 {
		w.status = 200
	}
	var resp *Response
	var tail []byte
	if w.flushed {
		tail = w.buf.Bytes()
	} else {
		resp = w.responseLocked()
		resp.body = w.buf.Bytes()
		if cl := w.header.Get("Content-Length"); cl != "" {
			if n, err := strconv.Atoi(cl); err == nil && n != len(resp.body) && w.r.Method() != "HEAD" {
				slog.Warn("http: handler's Content-Length does not match its body; sending the body's", "declared", n, "written", len(resp.body))
			}
		}
	}
	w.mu.Unlock()
	c := w.c
	workerman.Post(func() {
		if resp != nil {
			c.Send(resp)
			return
		}
		if len(tail) > 0 {
			c.Send(Chunk(tail))
		}
		c.Send(Chunk(nil))
	})
}

// netHeader builds a fresh net/http Header of the request (without Host,
// which net/http keeps in Request.Host).
func (r *Request) netHeader() nethttp.Header {
	h := make(nethttp.Header, 8)
	r.forEachHeader(func(n []byte, a, b int) bool {
		if equalFold(n, "host") {
			return true
		}
		k := nethttp.CanonicalHeaderKey(string(n))
		h[k] = append(h[k], r.str(a, b))
		return true
	})
	return h
}
