package main

import (
	"bytes"
	"net"
	nethttp "net/http"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/fasthttp"
	"github.com/workerman-go/workerman"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

// workermanServer is the hello world of the manual on one event loop.
func workermanServer(addr string) (func() uint64, func(net.Listener) error) {
	var n uint64 // touched on the loop only; read after it stops
	w := workerman.NewWorker("http://" + addr)
	w.OnMessage = func(c *workerman.Connection, data any) {
		n++
		c.Send(body)
	}
	return func() uint64 { return n }, func(net.Listener) error {
		if err := w.Listen(); err != nil {
			return err
		}
		return workerman.EventLoop().Run()
	}
}

func netHTTPServer() (func() uint64, func(net.Listener) error) {
	var n atomic.Uint64
	h := nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(body))
	})
	return n.Load, func(ln net.Listener) error { return nethttp.Serve(ln, h) }
}

func fastHTTPServer() (func() uint64, func(net.Listener) error) {
	var n atomic.Uint64
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		n.Add(1)
		ctx.SetContentType("text/plain")
		ctx.WriteString(body)
	}}
	return n.Load, func(ln net.Listener) error { return s.Serve(ln) }
}

// gnetServer answers each request (counted by its blank line) with a
// fixed response: the floor of an HTTP server on an event loop.
type gnetServer0 struct {
	gnet.BuiltinEventEngine
	n    atomic.Uint64
	resp []byte
}

var headEnd = []byte("\r\n\r\n")

// OnTraffic answers every complete request head in the buffer.
func (s *gnetServer0) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Peek(-1)
	k := 0
	used := 0
	for {
		i := bytes.Index(buf[used:], headEnd)
		if i < 0 {
			break
		}
		used += i + 4
		k++
	}
	if k > 0 {
		s.n.Add(uint64(k))
		out := make([][]byte, k)
		for i := range out {
			out[i] = s.resp
		}
		c.Writev(out)
	}
	c.Discard(used)
	return gnet.None
}

func gnetServer(addr string, loops int) (func() uint64, func(net.Listener) error) {
	s := &gnetServer0{resp: []byte("HTTP/1.1 200 OK\r\nServer: gnet\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n" + body)}
	return s.n.Load, func(net.Listener) error {
		return gnet.Run(s, "tcp://"+addr, gnet.WithMulticore(loops > 1), gnet.WithNumEventLoop(loops))
	}
}

// adapterServer runs a net/http handler on a Workerman worker through
// http.Handler: the cost of the adapter.
func adapterServer(addr string) (func() uint64, func(net.Listener) error) {
	var n atomic.Uint64
	h := nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(body))
	})
	w := workerman.NewWorker("http://" + addr)
	w.OnMessage = wmhttp.Handler(h)
	return n.Load, func(net.Listener) error {
		if err := w.Listen(); err != nil {
			return err
		}
		return workerman.EventLoop().Run()
	}
}
