package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/lxzan/gws"
	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/protocols/websocket"
)

// Each server echoes binary messages, and sends a message that starts with
// 'B' to every connection (broadcast fan-out).

// serve runs the server of impl on a free loopback port, prints its
// address, and answers "stats" lines on stdin with
// "conns mallocs heapinuse cpu-nanoseconds" (after a GC when asked
// "gcstats"). With WSBENCH_CPUPROFILE set, it writes a CPU profile to
// that path plus "." and impl until stdin closes.
func serve(impl string) {
	var conns func() int64
	var addr string
	switch impl {
	case "workerman":
		addr, conns = serveWorkerman()
	case "gorilla":
		addr, conns = serveGorilla()
	case "gws":
		addr, conns = serveGws()
	case "workerman-deflate":
		addr, conns = serveWorkermanDeflate(false)
	case "workerman-takeover":
		addr, conns = serveWorkermanDeflate(true)
	default:
		fmt.Fprintln(os.Stderr, "unknown impl", impl)
		os.Exit(2)
	}
	if f := os.Getenv("WSBENCH_CPUPROFILE"); f != "" {
		out, err := os.Create(f + "." + impl)
		if err != nil {
			panic(err)
		}
		pprof.StartCPUProfile(out)
		defer pprof.StopCPUProfile()
	}
	fmt.Println(addr)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "gcstats" {
			runtime.GC()
			debug.FreeOSMemory()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		fmt.Println(conns(), ms.Mallocs, ms.HeapInuse, int64(cpu))
	}
}

// maxMessage bounds a message for every server: the largest the frag test
// sends, with room to spare.
const maxMessage = 32 << 20

// listen returns the listener of a net/http based server, wrapped in TLS
// with run -tls.
func listen() net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	if useTLS() {
		return tls.NewListener(ln, serverTLS())
	}
	return ln
}

func serveWorkerman() (string, func() int64) {
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.Protocol = &websocket.Server{Type: websocket.BinaryTypeArrayBuffer}
	if useTLS() {
		w.Transport, w.TLSConfig = "ssl", serverTLS()
	}
	var n atomic.Int64
	w.OnConnect = func(c *workerman.Connection) {
		c.MaxPackageSize = maxMessage
		n.Add(1)
	}
	w.OnClose = func(*workerman.Connection) { n.Add(-1) }
	w.OnMessage = func(c *workerman.Connection, data any) {
		// data is passed on as it came: sending the same interface value
		// to many connections boxes nothing.
		if b := data.([]byte); len(b) > 0 && b[0] == 'B' {
			for _, o := range w.Connections {
				o.Send(data)
			}
			return
		}
		c.Send(data)
	}
	addr := make(chan string)
	workerman.Post(func() {
		if err := w.Listen(); err != nil {
			panic(err)
		}
		addr <- w.Addr().String()
	})
	go workerman.EventLoop().Run()
	return <-addr, n.Load
}

// serveWorkermanDeflate is an echo server with permessage-deflate, with
// or without context takeover.
func serveWorkermanDeflate(takeover bool) (string, func() int64) {
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.Protocol = &websocket.Server{Compression: true, ContextTakeover: takeover, CompressionThreshold: 1}
	var n atomic.Int64
	w.OnConnect = func(c *workerman.Connection) { n.Add(1) }
	w.OnClose = func(*workerman.Connection) { n.Add(-1) }
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(data) }
	addr := make(chan string)
	workerman.Post(func() {
		if err := w.Listen(); err != nil {
			panic(err)
		}
		addr <- w.Addr().String()
	})
	go workerman.EventLoop().Run()
	return <-addr, n.Load
}

func serveGorilla() (string, func() int64) {
	up := gorilla.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}
	var (
		mu    sync.Mutex
		all   = map[*gorilla.Conn]*sync.Mutex{}
		count atomic.Int64
	)
	h := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(rw, r, nil)
		if err != nil {
			return
		}
		c.SetReadLimit(maxMessage)
		wmu := &sync.Mutex{}
		mu.Lock()
		all[c] = wmu
		mu.Unlock()
		count.Add(1)
		defer func() {
			mu.Lock()
			delete(all, c)
			mu.Unlock()
			count.Add(-1)
			c.Close()
		}()
		for {
			mt, rd, err := c.NextReader()
			if err != nil {
				return
			}
			b, err := io.ReadAll(rd)
			if err != nil {
				return
			}
			if len(b) > 0 && b[0] == 'B' {
				mu.Lock()
				for o, m := range all {
					m.Lock()
					o.WriteMessage(mt, b)
					m.Unlock()
				}
				mu.Unlock()
				continue
			}
			wmu.Lock()
			err = c.WriteMessage(mt, b)
			wmu.Unlock()
			if err != nil {
				return
			}
		}
	})
	ln := listen()
	go http.Serve(ln, h)
	return ln.Addr().String(), count.Load
}

type gwsHandler struct {
	gws.BuiltinEventHandler
	mu    sync.Mutex
	all   map[*gws.Conn]struct{}
	count atomic.Int64
}

func (h *gwsHandler) OnOpen(c *gws.Conn) {
	h.mu.Lock()
	h.all[c] = struct{}{}
	h.mu.Unlock()
	h.count.Add(1)
}

func (h *gwsHandler) OnClose(c *gws.Conn, err error) {
	h.mu.Lock()
	delete(h.all, c)
	h.mu.Unlock()
	h.count.Add(-1)
}

func (h *gwsHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	b := m.Bytes()
	if len(b) > 0 && b[0] == 'B' {
		h.mu.Lock()
		for o := range h.all {
			o.WriteMessage(m.Opcode, b)
		}
		h.mu.Unlock()
		return
	}
	c.WriteMessage(m.Opcode, b)
}

func serveGws() (string, func() int64) {
	h := &gwsHandler{all: map[*gws.Conn]struct{}{}}
	up := gws.NewUpgrader(h, &gws.ServerOption{ReadMaxPayloadSize: maxMessage})
	ln := listen()
	go http.Serve(ln, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(rw, r)
		if err != nil {
			return
		}
		go c.ReadLoop()
	}))
	return ln.Addr().String(), h.count.Load
}
