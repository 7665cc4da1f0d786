package workerman

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
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

// errWouldBlock is returned by the transport's Read when no input is
// buffered.
var errWouldBlock error = wouldBlockError{}

type wouldBlockError struct{}

func (wouldBlockError) Error() string   { return "workerman: tls input would block" }
func (wouldBlockError) Timeout() bool   { return true }
func (wouldBlockError) Temporary() bool { return true }

// tlsPlainSize is the size of the buffer decrypted input is gathered in
// before the connection's protocol sees it, no more than a native read
// delivers (so Pipe's flow control holds as well); it is filled while a
// whole record's plaintext (tlsMaxPlain) still fits.
const (
	tlsPlainSize = ReadChunk
	tlsMaxPlain  = 16 << 10
)

// tlsPlain is that buffer, shared by the connections of the process (all
// of them run on its one loop).
var tlsPlain []byte

// tlsBatchMax bounds the records gathered while a read is processed
// before they are written out.
const tlsBatchMax = 64 << 10

// tlsHandshakeInMax bounds the input read ahead of a handshake; the loop
// stops reading beyond it until the handshake has taken it.
const tlsHandshakeInMax = 128 << 10

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
	timer     int  // handshake timeout
	hs        *tlsHandshake
	linger    *tlsLinger
}

// tlsTransport is the net.Conn crypto/tls runs over.
type tlsTransport struct {
	b         *tlsLoop
	hs        *tlsHandshake // non-nil while the handshake goroutine runs
	src       []byte        // input not yet taken by crypto/tls
	srcShared bool          // src is in the loop's shared read buffer
	eof       bool          // the peer ended its input after src
	more      bool          // crypto/tls may hold decrypted input
	rec       recordCursor  // where the input stands in the record stream
	own       []byte        // holds src when it outlives a read (a partial record)
	streaming bool          // the last read filled the shared buffer
}

// fill reads the socket: into the loop's shared buffer, or after the
// partial record kept from the last read.
func (t *tlsTransport) fill(fd int, shared []byte) (int, error) {
	if len(t.src) == 0 {
		n, err := unix.Read(fd, shared)
		if n > 0 {
			t.src, t.srcShared = shared[:n], true
		}
		t.streaming = n == len(shared)
		return n, err
	}
	if cap(t.own) < len(t.src)+len(shared)/4 {
		t.own = make([]byte, 0, len(t.src)+len(shared))
	}
	k := copy(t.own[:len(t.src)], t.src)
	n, err := unix.Read(fd, t.own[k:cap(t.own)])
	t.streaming = n >= len(shared)/2
	t.src, t.srcShared = t.own[:k+max(n, 0)], false
	return n, err
}

// keepInput keeps the input crypto/tls has not taken (a partial record, or
// more when the connection paused) once the shared buffer is reused.
func (t *tlsTransport) keepInput() {
	if len(t.src) == 0 {
		t.src, t.srcShared = nil, false
		if !t.streaming {
			t.own = nil // a quiet connection keeps no buffer
		}
		return
	}
	if t.srcShared {
		t.own = append(t.own[:0], t.src...)
		t.src, t.srcShared = t.own, false
	}
}

func (t *tlsTransport) Read(p []byte) (int, error) {
	if t.hs != nil {
		return t.hs.read(p)
	}
	if len(t.src) == 0 {
		if t.eof {
			return 0, io.EOF
		}
		return 0, errWouldBlock
	}
	n := t.rec.take(t.src, len(p))
	copy(p, t.src[:n])
	t.src = t.src[n:]
	return n, nil
}

// recordCursor follows the TLS record framing of the input handed to
// crypto/tls, so that the loop knows when a Read would find nothing to
// decrypt and does not call it: a Read that has to report errWouldBlock
// costs crypto/tls an allocation, one per message otherwise.
type recordCursor struct {
	hdr  [5]byte // header of the current record, nh bytes of it seen
	nh   int
	left int // body bytes of the current record not handed over yet
	// held counts the whole records crypto/tls was given and may not have
	// processed yet. It is exact or too high (records that carry no
	// application data), never too low: crypto/tls asks for input only
	// once it has processed every whole record it holds.
	held int
}

// take hands over up to max bytes of src and returns how many.
func (r *recordCursor) take(src []byte, max int) int {
	lim := min(len(src), max)
	recs := 0
	for pos := 0; pos < lim; {
		if r.nh < len(r.hdr) {
			k := copy(r.hdr[r.nh:], src[pos:lim])
			r.nh += k
			pos += k
			if r.nh < len(r.hdr) {
				break
			}
			r.left = int(r.hdr[3])<<8 | int(r.hdr[4])
		}
		k := min(r.left, lim-pos)
		r.left -= k
		pos += k
		if r.left > 0 {
			break
		}
		r.nh = 0
		recs++
	}
	r.held = recs
	return lim
}

// completes reports whether src holds the rest of the current record.
func (r *recordCursor) completes(src []byte) bool {
	if r.nh == len(r.hdr) {
		return len(src) >= r.left
	}
	h := len(r.hdr) - r.nh
	if len(src) < h {
		return false
	}
	var hdr [5]byte
	copy(hdr[:], r.hdr[:r.nh])
	copy(hdr[r.nh:], src[:h])
	return len(src)-h >= int(hdr[3])<<8|int(hdr[4])
}

func (t *tlsTransport) Write(p []byte) (int, error) {
	if t.hs != nil {
		return t.hs.write(p)
	}
	return t.b.output(p)
}

// Close does nothing: the bridge owns the socket.
func (t *tlsTransport) Close() error { return nil }

func (t *tlsTransport) LocalAddr() net.Addr {
	if ap := t.b.c.localAddrPort(); ap.IsValid() {
		return net.TCPAddrFromAddrPort(ap)
	}
	return &net.UnixAddr{Net: "unix"}
}

func (t *tlsTransport) RemoteAddr() net.Addr {
	c := t.b.c
	if c.remote.IsValid() {
		return net.TCPAddrFromAddrPort(c.remote)
	}
	return &net.UnixAddr{Name: c.unixPath, Net: "unix"}
}

func (t *tlsTransport) SetDeadline(time.Time) error      { return nil }
func (t *tlsTransport) SetReadDeadline(time.Time) error  { return nil }
func (t *tlsTransport) SetWriteDeadline(time.Time) error { return nil }

// tlsHandshake is what the loop and the handshake goroutine share.
type tlsHandshake struct {
	fd      int
	rec     *recordCursor // the transport's
	post    func(func())
	resume  func() // run on the loop when a stalled read may go on
	mu      sync.Mutex
	cond    sync.Cond
	in      []byte
	err     error // no more input: the peer's end, or the loop gave up
	stalled bool  // the loop stopped reading: in is full
	abort   atomic.Bool
}

// read runs on the handshake goroutine: it waits for input from the loop.
func (h *tlsHandshake) read(p []byte) (int, error) {
	h.mu.Lock()
	for len(h.in) == 0 && h.err == nil {
		h.cond.Wait()
	}
	if len(h.in) == 0 {
		err := h.err
		h.mu.Unlock()
		return 0, err
	}
	n := h.rec.take(h.in, len(p))
	copy(p, h.in[:n])
	if n == len(h.in) {
		h.in = h.in[:0]
	} else {
		h.in = h.in[n:]
	}
	resume := h.stalled && len(h.in) < tlsHandshakeInMax/2
	if resume {
		h.stalled = false
	}
	h.mu.Unlock()
	if resume {
		h.post(h.resume)
	}
	return n, nil
}

// write runs on the handshake goroutine: it writes a flight to the
// non-blocking socket, waiting for room if it must. The loop does not
// close the socket before the goroutine has reported.
func (h *tlsHandshake) write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		if h.abort.Load() {
			return done, net.ErrClosed
		}
		n, err := unix.Write(h.fd, p[done:])
		if n > 0 {
			done += n
			continue
		}
		switch err {
		case unix.EINTR:
		case unix.EAGAIN:
			unix.Poll([]unix.PollFd{{Fd: int32(h.fd), Events: unix.POLLOUT}}, 100)
		default:
			return done, err
		}
	}
	return done, nil
}

// feed hands input (or its end) to the handshake; it runs on the loop and
// reports whether the loop should stop reading.
func (h *tlsHandshake) feed(data []byte, err error) (stop bool) {
	h.mu.Lock()
	h.in = append(h.in, data...)
	if err != nil && h.err == nil {
		h.err = err
	}
	if len(h.in) >= tlsHandshakeInMax {
		h.stalled = true
	}
	stop = h.stalled || h.err != nil
	h.mu.Unlock()
	h.cond.Signal()
	return stop
}

// fail makes the handshake goroutine give up.
func (h *tlsHandshake) fail(err error) {
	h.abort.Store(true)
	h.feed(nil, err)
}

var errHandshakeTimeout = errors.New("workerman: tls handshake timed out")

func newTLSLoop(c *Connection) *tlsLoop {
	b := &tlsLoop{c: c, loop: c.loop, fd: c.fd}
	b.tr.b = b
	hs := &tlsHandshake{fd: c.fd, rec: &b.tr.rec, post: c.loop.Post}
	hs.cond.L = &hs.mu
	hs.resume = func() {
		if !b.ready && !b.closed && b.hs == hs {
			b.c.setEvents(eventloop.Readable)
		}
	}
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
	c.ext = &connExt{bridge: b}
	if err := c.loop.AddHandler(c.fd, eventloop.Readable, b); err != nil {
		logger().Error("cannot watch connection", "err", err)
		unix.Close(c.fd)
		c.status, c.fd = StatusClosed, -1
		b.closed = true
		return
	}
	b.watched, c.events = true, eventloop.Readable
	b.timer = c.loop.AddTimer(TLSHandshakeTimeout, false, b.handshakeTimeout)
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

func (b *tlsLoop) startHandshake() {
	b.hsRunning = true
	tc, post := b.tc, b.loop.Post
	go func() {
		err := tc.Handshake()
		post(func() { b.handshakeDone(err) })
	}()
}

func (b *tlsLoop) handshakeTimeout() {
	b.timer = 0
	if b.ready || b.closed {
		return
	}
	if b.hsRunning {
		b.hs.fail(errHandshakeTimeout)
		return
	}
	b.handshakeFailed(errHandshakeTimeout)
}

// handshakeInput reads the socket while the handshake runs.
func (b *tlsLoop) handshakeInput() {
	buf := b.loop.ReadBuffer()
	n, err := unix.Read(b.fd, buf)
	if err == unix.EAGAIN || err == unix.EINTR {
		return
	}
	var end error
	switch {
	case err != nil:
		end = err
		n = 0
	case n == 0:
		end = io.EOF
	}
	if b.hs.feed(buf[:n], end) {
		if end != nil {
			// Nothing more will come: stop watching, so that a hang-up
			// does not keep the loop busy until the handshake ends.
			b.loop.RemoveHandler(b.fd)
			b.watched = false
		} else {
			b.c.setEvents(0)
		}
	}
	if !b.hsRunning && end == nil {
		b.startHandshake()
	} else if !b.hsRunning {
		b.handshakeFailed(end)
	}
}

// handshakeDone runs on the loop when the handshake goroutine has ended.
func (b *tlsLoop) handshakeDone(err error) {
	b.hsRunning = false
	c := b.c
	if b.closed {
		unix.Close(b.fd)
		return
	}
	if b.timer != 0 {
		b.loop.DelTimer(b.timer)
		b.timer = 0
	}
	if err != nil {
		b.handshakeFailed(err)
		return
	}
	if a := c.asyncState(); a != nil && (c.ext.bridge != b || a.gen != b.gen || c.status != StatusConnecting) {
		b.close()
		return
	}
	if b.w != nil && b.w.stopped {
		b.close()
		c.status, c.fd = StatusClosed, -1
		return
	}
	// From here on the loop serves the connection alone.
	hs := b.hs
	hs.mu.Lock()
	b.tr.src, b.tr.srcShared = hs.in, false
	b.tr.eof = hs.err != nil
	hs.mu.Unlock()
	b.hs, b.tr.hs = nil, nil
	b.ready = true
	if !b.tr.eof {
		ev := eventloop.Readable
		if c.paused {
			ev = 0
		}
		if !b.watched {
			if b.loop.AddHandler(b.fd, ev, b) != nil {
				b.handshakeFailed(errors.New("cannot watch connection"))
				return
			}
			b.watched, c.events = true, ev
		} else {
			c.setEvents(ev)
		}
	}
	if b.w != nil {
		c.status = StatusEstablished
		b.w.connected(c)
	} else {
		// What was sent while connecting goes first.
		if q := c.sendBuf[c.sendOff:]; len(q) > 0 {
			c.sendBuf, c.sendOff = nil, 0
			if _, err := b.tc.Write(q); err != nil {
				c.connectFailed(fmt.Errorf("ssl: %w", err))
				return
			}
			c.bytesWritten += int64(len(q))
		}
		c.established()
	}
	if !b.closed && c.status == StatusEstablished && !c.paused {
		b.decrypt()
	}
}

func (b *tlsLoop) handshakeFailed(err error) {
	c := b.c
	if c.asyncState() != nil {
		c.connectFailed(fmt.Errorf("ssl handshake: %w", err))
		return
	}
	w := b.w
	logger().Debug("ssl handshake failed", "worker", w.Name, "remote", c.RemoteAddress(), "err", err)
	b.close()
	c.status, c.fd = StatusClosed, -1
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

// read takes what the socket holds and decrypts it.
func (b *tlsLoop) read() {
	c := b.c
	if c.paused && c.status != StatusClosing {
		return
	}
	if c.status == StatusClosing {
		// Closing: input is discarded while the send buffer drains.
		n, err := unix.Read(b.fd, b.loop.ReadBuffer())
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
		case err != nil:
			c.destroy()
		case n == 0:
			b.inputEnded(io.EOF)
		}
		return
	}
	n, err := b.tr.fill(b.fd, b.loop.ReadBuffer())
	if err != nil {
		if err == unix.EAGAIN || err == unix.EINTR {
			return
		}
		c.destroy()
		return
	}
	if n == 0 {
		b.tr.eof = true
		c.setEvents(c.events &^ eventloop.Readable)
	}
	b.decrypt()
}

// decrypt reads what crypto/tls can decrypt from the input it has been
// given and hands it to the connection's protocol.
func (b *tlsLoop) decrypt() {
	c := b.c
	if tlsPlain == nil {
		tlsPlain = make([]byte, tlsPlainSize)
	}
	plain := tlsPlain
	b.batching = true
	var end error
	for !b.closed && !c.paused && c.status == StatusEstablished {
		off := 0
		var err error
		for len(plain)-off >= tlsMaxPlain {
			tr := &b.tr
			if !tr.more && !tr.eof && tr.rec.held == 0 && !tr.rec.completes(tr.src) {
				err = errWouldBlock
				break
			}
			var m int
			m, err = b.tc.Read(plain[off:])
			tr.more = m == len(plain)-off
			if m > 0 && tr.rec.held > 0 {
				tr.rec.held--
			}
			off += m
			if err != nil {
				break
			}
		}
		if off > 0 {
			c.bytesRead += int64(off)
			b.deliver(plain[:off])
		}
		if err == nil {
			continue
		}
		if err != errWouldBlock {
			end = err
		}
		break
	}
	b.batching = false
	if b.closed {
		return
	}
	b.tr.keepInput()
	if c.SendBufferLen() > 0 && c.events&eventloop.Writable == 0 {
		b.flushBatch()
		if b.closed {
			return
		}
	}
	if end != nil {
		b.inputEnded(end)
	}
}

// deliver hands decrypted input to the connection's protocol.
func (b *tlsLoop) deliver(data []byte) {
	c := b.c
	switch {
	case c.status != StatusEstablished:
	case len(c.recvBuf) > 0:
		c.recvBuf = append(c.recvBuf, data...)
		c.process(c.recvBuf, true)
	default:
		c.process(data, false)
	}
}

// inputEnded handles the end of input: the peer's close_notify or end of
// stream lets what is queued be written first; a reset or a TLS error ends
// the connection at once.
func (b *tlsLoop) inputEnded(err error) {
	c := b.c
	if errors.Is(err, io.EOF) && c.SendBufferLen() > 0 && c.status <= StatusClosing {
		c.status = StatusClosing
		b.closing = true
		c.setEvents(eventloop.Writable)
		return
	}
	c.destroy()
}

// output is the transport's Write once the handshake is done: one or more
// sealed records, in crypto/tls's own buffer.
func (b *tlsLoop) output(p []byte) (int, error) {
	if b.linger != nil {
		return b.linger.write(b.fd, p)
	}
	if b.closed {
		return 0, net.ErrClosed
	}
	c := b.c
	if c.SendBufferLen() == 0 {
		c.sendBuf, c.sendOff = c.sendBuf[:0], 0
		if !b.batching {
			n, err := unix.Write(b.fd, p)
			if n == len(p) {
				return n, nil
			}
			if err != nil && err != unix.EAGAIN && err != unix.EINTR {
				return 0, err
			}
			c.sendBuf = append(c.sendBuf, p[max(n, 0):]...)
			c.setWritable(true)
			return len(p), nil
		}
	}
	c.sendBuf = append(c.sendBuf, p...)
	return len(p), nil
}

// flushBatch writes the records gathered while input was processed.
// Unlike a flush of a send buffer that waited for the socket, it does not
// report a drain.
func (b *tlsLoop) flushBatch() {
	c := b.c
	if !b.writePending() {
		return
	}
	if c.SendBufferLen() > 0 {
		c.setWritable(true)
		c.checkBufferWillFull()
		return
	}
	b.releaseSendBuf()
}

// writePending writes what the send buffer holds; it reports false if the
// write failed and the connection was destroyed.
func (b *tlsLoop) writePending() bool {
	c := b.c
	n, err := unix.Write(b.fd, c.sendBuf[c.sendOff:])
	if n > 0 {
		c.sendOff += n
	}
	if err != nil && err != unix.EAGAIN && err != unix.EINTR {
		c.sendFailed("client closed")
		c.destroy()
		return false
	}
	return true
}

// releaseSendBuf empties the send buffer, dropping it if a burst grew it.
func (b *tlsLoop) releaseSendBuf() {
	c := b.c
	if cap(c.sendBuf) > 4*tlsBatchMax {
		c.sendBuf = nil
	} else {
		c.sendBuf = c.sendBuf[:0]
	}
	c.sendOff = 0
}

// flushQueued writes the send buffer when the socket is writable, as
// Connection.flush does for a plain connection (BytesWritten counts the
// plaintext a Send sealed instead).
func (b *tlsLoop) flushQueued() {
	c := b.c
	if c.SendBufferLen() > 0 {
		if !b.writePending() || c.SendBufferLen() > 0 {
			return
		}
	}
	b.releaseSendBuf()
	c.setWritable(false)
	if c.OnBufferDrain != nil {
		c.OnBufferDrain(c)
	}
	if c.status == StatusClosing && c.SendBufferLen() == 0 && !b.closed {
		c.destroy()
	}
}

// write implements bridge: it seals p into records.
func (b *tlsLoop) write(c *Connection, p []byte) SendResult {
	if b.closed {
		return SendFailed
	}
	if !b.ready {
		// Still handshaking: keep it, as a connecting socket does.
		if c.BufferIsFull() {
			c.sendFailed("send buffer full and drop package")
			return SendFailed
		}
		c.sendBuf = append(c.sendBuf, p...)
		c.checkBufferWillFull()
		return SendQueued
	}
	queued := c.events&eventloop.Writable != 0
	if queued && c.BufferIsFull() {
		c.sendFailed("send buffer full and drop package")
		return SendFailed
	}
	if _, err := b.tc.Write(p); err != nil {
		c.sendFailed("client closed")
		c.destroy()
		return SendFailed
	}
	c.bytesWritten += int64(len(p))
	if b.batching && !queued && c.SendBufferLen() >= min(tlsBatchMax, c.MaxSendBufferSize) {
		b.flushBatch()
		if b.closed {
			return SendFailed
		}
		return SendQueued
	}
	if c.events&eventloop.Writable == 0 {
		return SendOK // written, or gathered to be written with the batch
	}
	if queued {
		c.checkBufferWillFull()
	} else if c.BufferIsFull() {
		c.checkBufferWillFull()
	}
	return SendQueued
}

// pause implements bridge.
func (b *tlsLoop) pause(on bool) {
	if b.closed || !b.ready {
		return // the handshake's end looks at c.paused
	}
	c := b.c
	if on {
		c.setEvents(c.events &^ eventloop.Readable)
		return
	}
	if !b.tr.eof {
		c.setEvents(c.events | eventloop.Readable)
	}
	// Records already read may wait in crypto/tls: decrypt them without
	// waiting for the socket.
	b.loop.Post(func() {
		if !b.closed && !c.paused && c.status == StatusEstablished {
			if len(c.recvBuf) > 0 {
				c.process(c.recvBuf, true)
			}
			if !b.closed && !c.paused && c.status == StatusEstablished {
				b.decrypt()
			}
		}
	})
}

// closeAfterFlush implements bridge; the connection is already Closing.
func (b *tlsLoop) closeAfterFlush(c *Connection) {
	if b.closed {
		return
	}
	b.closing = true
	if c.SendBufferLen() > 0 && c.events&eventloop.Writable == 0 {
		b.flushBatch()
		if b.closed {
			return
		}
	}
	if c.SendBufferLen() == 0 {
		c.destroy()
	}
	// Otherwise the connection's flush ends it once the socket took all.
}

// close implements bridge. After a flushed Close the peer gets a TLS
// close_notify, and the socket lingers (see tlsLinger).
func (b *tlsLoop) close() {
	if b.closed {
		return
	}
	b.closed = true
	if b.timer != 0 {
		b.loop.DelTimer(b.timer)
		b.timer = 0
	}
	if !b.ready {
		if b.watched {
			b.loop.RemoveHandler(b.fd)
			b.watched = false
		}
		if b.hsRunning {
			// The goroutine may still write: it closes the socket when it
			// reports.
			b.hs.fail(net.ErrClosed)
			return
		}
		unix.Close(b.fd)
		return
	}
	if b.closing && b.c.SendBufferLen() == 0 && b.watched {
		b.startLinger()
		return
	}
	if b.watched {
		b.loop.RemoveHandler(b.fd)
		b.watched = false
	}
	unix.Close(b.fd)
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

// tlsLinger is the end of a TLS connection closed with Close, once its
// output is written. It sends close_notify and a FIN, then keeps reading
// and discarding the peer's input until the peer closes its side too, or
// the peer has acknowledged everything and lingerIdle has passed, or a
// bound is reached, before it closes the socket. Closing a socket while
// the peer's input is still arriving makes the kernel answer with a reset,
// and a reset destroys what the peer has received but not yet read (the
// reply that was just flushed, the close_notify itself), as well as
// whatever the kernel has not sent yet. It runs on the loop, after OnClose.
type tlsLinger struct {
	out         []byte
	start, busy time.Time
	total       int
	timer       int
}

func (b *tlsLoop) startLinger() {
	now := time.Now()
	l := &tlsLinger{start: now, busy: now}
	b.linger = l
	b.tc.CloseWrite() // close_notify, through output into l
	if b.linger == nil {
		return
	}
	ev := eventloop.Readable
	if len(l.out) > 0 {
		ev |= eventloop.Writable
	} else {
		unix.Shutdown(b.fd, unix.SHUT_WR)
	}
	if b.loop.ModifyHandler(b.fd, ev) != nil {
		b.endLinger()
		return
	}
	l.timer = b.loop.AddTimer(lingerSlice, true, b.lingerTick)
}

// write is the transport's output while lingering: close_notify.
func (l *tlsLinger) write(fd int, p []byte) (int, error) {
	if len(l.out) == 0 {
		n, err := unix.Write(fd, p)
		if n == len(p) {
			return n, nil
		}
		if err != nil && err != unix.EAGAIN && err != unix.EINTR {
			return 0, err
		}
		p = p[max(n, 0):]
	}
	l.out = append(l.out, p...)
	return len(p), nil
}

func (b *tlsLoop) lingerEvent(ev eventloop.Event) {
	l := b.linger
	if ev&eventloop.Writable != 0 && len(l.out) > 0 {
		n, err := unix.Write(b.fd, l.out)
		if n > 0 {
			l.out = l.out[n:]
		}
		if err != nil && err != unix.EAGAIN && err != unix.EINTR {
			b.endLinger()
			return
		}
		if len(l.out) == 0 {
			unix.Shutdown(b.fd, unix.SHUT_WR)
			if b.loop.ModifyHandler(b.fd, eventloop.Readable) != nil {
				b.endLinger()
				return
			}
		}
	}
	if ev&eventloop.Readable == 0 {
		return
	}
	buf := b.loop.ReadBuffer()
	for i := 0; i < 4; i++ {
		n, err := unix.Read(b.fd, buf)
		if err == unix.EAGAIN || err == unix.EINTR {
			return
		}
		if err != nil || n == 0 {
			b.endLinger() // the peer closed (or reset) its side
			return
		}
		l.total += n
		if l.total >= lingerBytes {
			b.endLinger()
			return
		}
	}
}

func (b *tlsLoop) lingerTick() {
	l := b.linger
	if l == nil {
		return
	}
	now := time.Now()
	if len(l.out) > 0 {
		l.busy = now
	} else if unsentBytes(b.fd) > 0 {
		l.busy = now
	}
	if now.Sub(l.busy) >= lingerIdle || now.Sub(l.start) >= lingerMax {
		b.endLinger()
	}
}

func (b *tlsLoop) endLinger() {
	l := b.linger
	b.linger = nil
	if l.timer != 0 {
		b.loop.DelTimer(l.timer)
	}
	if b.watched {
		b.loop.RemoveHandler(b.fd)
		b.watched = false
	}
	unix.Close(b.fd)
}
