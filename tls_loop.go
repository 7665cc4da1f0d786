package workerman

import (
	"crypto/tls"
	"time"

	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/unix"
)

// TLS on the event loop.
//
// The socket of a TLS connection is watched by the loop like a plain one.
// crypto/tls runs over tlsTransport, an in-memory net.Conn:
//
//   - Input: the loop reads the socket into its shared read buffer and
//     offers those bytes to crypto/tls, then calls tls.Conn.Read until the
//     transport has nothing left, when its Read returns errWouldBlock. That
//     error is a temporary net.Error, for which crypto/tls keeps no sticky
//     error: the record it was reading stays buffered in the tls.Conn, and
//     the next Read goes on with it.
//   - Output: tls.Conn.Write hands each sealed record to the transport's
//     Write, which writes it to the socket or, when the socket is full,
//     appends it to the connection's send buffer, flushed when the socket
//     is writable, as for a plain connection. While the loop processes
//     what one read brought, records are gathered and written at once.
//
// A handshake cannot be resumed after a would-block error (crypto/tls
// keeps its error), so it runs on a goroutine of its own, over a blocking
// variant of the transport: the loop still reads the socket and hands the
// bytes over, the goroutine writes its flights to the non-blocking socket
// itself. Once the handshake is done, the goroutine ends and the
// connection is served by the loop alone: an idle TLS connection holds no
// goroutine, and the data path crosses none.

// tlsLoop is the bridge of a TLS connection served on the loop.
type tlsLoop struct {
	c    *Connection
	loop *eventloop.Loop
	fd   int
	tc   *tls.Conn
	tr   tlsTransport
	w    *Worker // server side: the worker the connection joins
	gen  int     // client side: the connect attempt

	ready     bool // handshake done: served on the loop
	closed    bool
	closing   bool // closed with Close (or the peer's end) once flushed
	batching  bool // gathering output while input is processed
	watched   bool // fd is registered with the loop
	hsRunning bool // the handshake goroutine has not reported yet
	timer     int  // client side: handshake timeout
	hs        *tlsHandshake
	hsErr     error // the handshake's outcome, set by its goroutine
	linger    *tlsLinger

	// Held here rather than allocated apart: the handshake's state (hs
	// points to it while the handshake runs), the connection's extension
	// (server side), and the server handshake's place in tlsPending.
	hsState tlsHandshake
	ext     connExt
	pending tlsPendingLink
}

func newTLSLoop(c *Connection) *tlsLoop {
	b := &tlsLoop{c: c, loop: c.loop, fd: c.fd}
	b.tr.b = b
	hs := &b.hsState
	hs.b, hs.fd = b, c.fd
	hs.cond.L = &hs.mu
	b.hs, b.tr.hs = hs, hs
	return b
}

// tlsBridged makes TLS connections use the goroutine bridge instead of
// the loop (tests of that path only).
var tlsBridged bool

// serveTLS starts the server side of a TLS connection: the socket is
// watched by the loop at once, the handshake goroutine starts when the
// client's first bytes have arrived, and the connection joins the worker
// when the handshake is done.
func (w *Worker) serveTLS(c *Connection) {
	if tlsBridged {
		w.serveTLSBridged(c)
		return
	}
	c.transport = "ssl"
	c.status = StatusConnecting
	b := newTLSLoop(c)
	b.w = w
	b.tc = tls.Server(&b.tr, w.TLSConfig)
	b.ext.bridge = b
	c.ext = &b.ext
	if err := c.loop.AddHandler(c.fd, eventloop.Readable, b); err != nil {
		logger().Error("cannot watch connection", "err", err)
		unix.Close(c.fd)
		c.status, c.fd = StatusClosed, -1
		b.closed = true
		return
	}
	b.watched, c.events = true, eventloop.Readable
	tlsPending.add(b, TLSHandshakeTimeout)
}

// startClientTLS starts the client side of a TLS connection after its TCP
// connect succeeded; the connection is established when the handshake is.
func (c *Connection) startClientTLS() {
	if tlsBridged {
		c.startClientTLSBridged()
		return
	}
	a := c.ext.async
	cfg := c.clientTLSConfig()
	b := newTLSLoop(c)
	b.gen = a.gen
	b.tc = tls.Client(&b.tr, cfg)
	c.ext.bridge = b
	if err := c.loop.AddHandler(c.fd, eventloop.Readable, b); err != nil {
		c.connectFailed(err)
		return
	}
	b.watched, c.events = true, eventloop.Readable
	timeout := a.opts.ConnectTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	b.timer = c.loop.AddTimer(timeout, false, b.handshakeTimeout)
	b.startHandshake()
}

// asyncState returns the state of an outbound connection, nil otherwise.
func (c *Connection) asyncState() *asyncState {
	if c.ext == nil {
		return nil
	}
	return c.ext.async
}

// HandleEvent implements eventloop.Handler.
func (b *tlsLoop) HandleEvent(fd int, ev eventloop.Event) {
	if b.linger != nil {
		b.lingerEvent(ev)
		return
	}
	if b.closed {
		return
	}
	if !b.ready {
		b.handshakeInput()
		return
	}
	c := b.c
	if ev&eventloop.Hangup != 0 && c.paused && c.status == StatusEstablished {
		c.destroy()
		return
	}
	if ev&eventloop.Writable != 0 {
		b.flushQueued()
		if b.closed {
			return
		}
	}
	if ev&eventloop.Readable != 0 && c.status != StatusClosed {
		b.read()
	}
}

// TLSConnectionState returns the state of a TLS connection (Transport
// "ssl"): the negotiated version and cipher suite, the server name the
// client asked for, the peer's certificates when it sent any (see
// SSLOptions.VerifyPeer). ok is false for other connections and before the
// handshake is done.
func (c *Connection) TLSConnectionState() (state tls.ConnectionState, ok bool) {
	if c.ext == nil {
		return state, false
	}
	switch b := c.ext.bridge.(type) {
	case *tlsLoop:
		if !b.ready {
			return state, false
		}
		return b.tc.ConnectionState(), true
	case *connBridge:
		if !b.ready {
			return state, false
		}
		if tc, isTLS := b.conn.(*tls.Conn); isTLS {
			return tc.ConnectionState(), true
		}
	}
	return state, false
}
