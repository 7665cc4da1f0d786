package workerman

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/unix"
)

// A bridged connection is served by goroutines instead of the epoll loop:
// its descriptor belongs to the Go runtime's poller (wrapped in an
// *os.File, without duplicating it) and crypto/tls runs on top of it.
// On Linux TLS runs on the loop instead (tls_loop.go and the tls_*.go
// files beside it); this path is kept for systems without the native
// poller.
//
// One reader goroutine reads decrypted bytes and hands them to the loop,
// which runs the same input path as a native connection. Writes are done
// by a short-lived writer goroutine per batch: the batch it holds plays the
// part of the kernel's socket buffer, and what is sent while it writes
// waits in the connection's send buffer, counted by SendBufferLen and
// bounded by MaxSendBufferSize exactly as on a native connection. Every
// decision (accounting, callbacks, closing) is taken on the loop.
//
// The cost is one goroutine per open TLS connection (two while it writes)
// and a 16 KiB read buffer, on top of crypto/tls's own buffers.

// bridgeReadSize is the buffer the reader goroutine reads into; a TLS
// record carries at most 16 KiB.
const bridgeReadSize = 16 << 10

// bridgeInLimit bounds the bytes read ahead of the loop; the reader waits
// when the loop has not taken them yet. Larger batches mean fewer hand-overs
// to the loop under load.
const bridgeInLimit = 256 << 10

// bridgeKeepBuf is the largest buffer a connection keeps for reuse between
// bursts, so an idle connection holds little memory.
const bridgeKeepBuf = 64 << 10

// fdConn is a net.Conn over a socket owned by an *os.File.
type fdConn struct {
	*os.File
	local, remote net.Addr
}

func (f *fdConn) LocalAddr() net.Addr  { return f.local }
func (f *fdConn) RemoteAddr() net.Addr { return f.remote }

// newFDConn wraps the non-blocking socket fd; the returned conn owns it.
func newFDConn(c *Connection, fd int) *fdConn {
	f := os.NewFile(uintptr(fd), "socket")
	fc := &fdConn{File: f}
	if c.remote.IsValid() {
		fc.remote = net.TCPAddrFromAddrPort(c.remote)
	} else {
		fc.remote = &net.UnixAddr{Name: c.unixPath, Net: "unix"}
	}
	if ap := c.localAddrPort(); ap.IsValid() {
		fc.local = net.TCPAddrFromAddrPort(ap)
	} else {
		fc.local = &net.UnixAddr{Net: "unix"}
	}
	return fc
}

// connBridge implements bridge for a net.Conn (a *tls.Conn over an fdConn).
type connBridge struct {
	c    *Connection
	loop *eventloop.Loop
	raw  net.Conn // the socket
	conn net.Conn // what is read and written (the TLS layer)
	tc   interface{ Close() error }

	// Loop side.
	ready      bool // handshake done: the writer may run
	closed     bool
	graceful   bool          // close with a TLS close_notify
	readerDone chan struct{} // closed when the reader goroutine has returned
	readErr    error         // end of input seen while paused
	peakBatch  int           // recent largest batch handed to a writer (decays)
	deliverF   func()

	// Shared with the writer goroutine. wstate is wIdle, wBusy or wNotify;
	// only the loop leaves wIdle. A writer that finishes in wBusy goes
	// idle by itself, without a round trip through the loop: that is the
	// common case of a reply written while nothing else was sent.
	wstate  atomic.Int32
	spareMu sync.Mutex
	spare   []byte // a batch buffer given back by the writer

	// Shared with the reader goroutine.
	mu      sync.Mutex
	cond    sync.Cond
	in      []byte // read, not yet taken by the loop
	inSpare []byte
	inErr   error
	posted  bool // a deliver task is queued
	paused  bool
	done    bool
}

func newConnBridge(c *Connection, raw, conn net.Conn) *connBridge {
	b := &connBridge{c: c, loop: c.loop, raw: raw, conn: conn}
	if cl, ok := conn.(interface{ Close() error }); ok {
		b.tc = cl
	}
	b.cond.L = &b.mu
	b.deliverF = b.deliver
	return b
}

// start marks the handshake done and starts reading.
func (b *connBridge) start() {
	b.ready = true
	b.mu.Lock()
	b.paused = b.c.paused
	b.mu.Unlock()
	b.readerDone = make(chan struct{})
	go func() {
		defer close(b.readerDone)
		b.readLoop()
	}()
	b.c.loop.Readied()
}

func (b *connBridge) readLoop() {
	buf := make([]byte, bridgeReadSize)
	for {
		b.mu.Lock()
		for !b.done && (b.paused || len(b.in) >= bridgeInLimit) {
			b.cond.Wait()
		}
		if b.done {
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		n, err := b.conn.Read(buf)
		b.mu.Lock()
		if b.done {
			b.mu.Unlock()
			return
		}
		if n > 0 {
			if need := len(b.in) + n; need > cap(b.in) {
				// Grow by four: a stream reaches the read-ahead limit with
				// few copies, a quiet connection stays small.
				in := make([]byte, len(b.in), min(max(need, 4*cap(b.in), bridgeReadSize), bridgeInLimit+bridgeReadSize))
				copy(in, b.in)
				b.in = in
			}
			b.in = append(b.in, buf[:n]...)
		}
		if err != nil {
			b.inErr = err
		}
		post := !b.posted && (len(b.in) > 0 || err != nil)
		if post {
			b.posted = true
		}
		b.mu.Unlock()
		if post {
			b.loop.Post(b.deliverF)
		}
		if err != nil {
			return
		}
	}
}

// deliver runs on the loop with what the reader has read.
func (b *connBridge) deliver() {
	defer b.c.catchPanic()
	b.mu.Lock()
	data, err := b.in, b.inErr
	b.in, b.inSpare = b.inSpare[:0], nil
	b.inErr = nil
	b.posted = false
	b.mu.Unlock()
	b.cond.Signal()
	if b.closed {
		return
	}
	c := b.c
	if len(data) > 0 {
		c.bytesRead += int64(len(data))
		switch {
		case c.status != StatusEstablished:
			// Closing: input is discarded while the send buffer drains.
		case c.paused || len(c.recvBuf) > 0:
			// Read before the pause took effect: keep it for ResumeRecv.
			c.recvBuf = append(c.recvBuf, data...)
			if !c.paused {
				c.process(c.recvBuf, true)
			}
		case c.Protocol == nil:
			if rest := b.deliverRaw(data); len(rest) > 0 && c.status == StatusEstablished {
				c.recvBuf = append(c.recvBuf, rest...)
			}
		default:
			c.process(data, false)
		}
		b.mu.Lock()
		// Keep the buffer for the next batch if it is small, or if more
		// input is already waiting (the connection is busy).
		if b.inSpare == nil && (cap(data) <= bridgeKeepBuf || len(b.in) > 0) {
			b.inSpare = data[:0]
		}
		b.mu.Unlock()
	}
	if err != nil && !b.closed {
		if c.paused && c.status == StatusEstablished && errors.Is(err, io.EOF) {
			// A paused native connection does not see the end of input
			// until it resumes; neither does this one. A reset or a TLS
			// error ends it at once, as a hang-up ends a native one.
			b.readErr = err
			return
		}
		b.readEnded(err)
	}
}

// deliverRaw hands raw bytes to OnMessage in pieces no larger than a
// native read, so that a pause (Pipe's flow control) takes effect between
// them; it returns what a pause left undelivered.
func (b *connBridge) deliverRaw(data []byte) []byte {
	c := b.c
	for len(data) > 0 && !c.paused && c.status == StatusEstablished {
		n := min(len(data), ReadChunk)
		c.process(data[:n], false)
		data = data[n:]
	}
	return data
}

// resumeRaw delivers raw bytes kept during a pause, piece by piece.
func (b *connBridge) resumeRaw() {
	defer b.c.catchPanic()
	c := b.c
	if b.closed || c.paused || c.status != StatusEstablished || c.Protocol != nil || len(c.recvBuf) == 0 {
		return
	}
	buf := c.recvBuf
	c.recvBuf = nil
	if rest := b.deliverRaw(buf); len(rest) > 0 && c.status == StatusEstablished {
		c.recvBuf = append(c.recvBuf, rest...)
	}
}

// readEnded handles the end of input: as on a native connection, what is
// still queued is written before the connection closes.
func (b *connBridge) readEnded(err error) {
	c := b.c
	if errors.Is(err, io.EOF) && c.status <= StatusClosing && (c.SendBufferLen() > 0 || b.watchWriter()) {
		c.status = StatusClosing
		b.kick()
		return
	}
	c.destroy()
}

// Writer states.
const (
	wIdle   = iota // no writer goroutine
	wBusy          // a writer holds a batch
	wNotify        // a writer holds a batch and must report when it is done
)

// watchWriter reports whether a writer goroutine is running and, if so,
// makes sure it reports its completion to the loop. Runs on the loop.
func (b *connBridge) watchWriter() bool {
	for {
		switch b.wstate.Load() {
		case wIdle:
			return false
		case wNotify:
			return true
		default:
			if b.wstate.CompareAndSwap(wBusy, wNotify) {
				return true
			}
		}
	}
}

func (b *connBridge) takeSpare() []byte {
	b.spareMu.Lock()
	s := b.spare
	b.spare = nil
	b.spareMu.Unlock()
	return s[:0]
}

// write implements bridge. It runs on the loop.
func (b *connBridge) write(c *Connection, p []byte) SendResult {
	if b.closed {
		return SendFailed
	}
	if !b.ready {
		// Still handshaking: keep everything, as a connecting socket does.
		c.sendBuf = append(c.sendBuf, p...)
		return SendQueued
	}
	if c.SendBufferLen() > 0 {
		if c.BufferIsFull() {
			c.sendFailed("send buffer full and drop package")
			return SendFailed
		}
		if need := len(c.sendBuf) + len(p); need > cap(c.sendBuf) {
			// Grow by four, not two: a stream reaches its size with fewer
			// copies. The queue never needs more than the limit plus one
			// message.
			nb := make([]byte, len(c.sendBuf), min(max(4*cap(c.sendBuf), need), c.MaxSendBufferSize+len(p)))
			copy(nb, c.sendBuf)
			c.sendBuf = nb
		}
		c.sendBuf = append(c.sendBuf, p...)
		c.checkBufferWillFull()
		return SendQueued
	}
	if b.watchWriter() {
		if cap(c.sendBuf) < len(p) || cap(c.sendBuf) < b.peakBatch {
			// Size the queue like the recent batches, so that a stream
			// fills it without growing (and copying) it step by step.
			n := min(max(len(p), b.peakBatch), c.MaxSendBufferSize+len(p))
			c.sendBuf = make([]byte, 0, max(n, 4<<10))
		}
		c.sendBuf = append(c.sendBuf[:0], p...)
		c.sendOff = 0
		c.checkBufferWillFull()
		return SendQueued
	}
	out := append(b.takeSpare(), p...)
	c.bytesWritten += int64(len(out))
	b.startWrite(out)
	if cap(c.sendBuf) > bridgeKeepBuf {
		// A burst is over: do not keep its large buffer.
		c.sendBuf = nil
	}
	return SendOK
}

// startWrite hands a batch to a new writer goroutine; the writer is idle.
// A closing connection needs to hear when its last batch is written.
func (b *connBridge) startWrite(out []byte) {
	b.peakBatch = max(len(out), b.peakBatch-b.peakBatch/4)
	if b.c.status == StatusClosing {
		b.wstate.Store(wNotify)
	} else {
		b.wstate.Store(wBusy)
	}
	go b.writeBatch(out)
	b.c.loop.Readied()
}

func (b *connBridge) writeBatch(out []byte) {
	_, err := b.conn.Write(out)
	if err == nil {
		small := cap(out) <= bridgeKeepBuf
		if small {
			b.putSpare(out)
		}
		if b.wstate.CompareAndSwap(wBusy, wIdle) {
			return // nothing more queued: a large buffer is let go
		}
		if !small {
			// More is queued: the loop gathers the next batch in this
			// buffer rather than growing a new one.
			b.putSpare(out)
		}
	}
	b.loop.Post(func() { b.wrote(err) })
}

func (b *connBridge) putSpare(out []byte) {
	b.spareMu.Lock()
	b.spare = out[:0]
	b.spareMu.Unlock()
}

// kick hands the queued bytes to a new writer, as flushing a native
// connection does, and reports the drain.
func (b *connBridge) kick() {
	c := b.c
	if b.closed || !b.ready || c.SendBufferLen() == 0 || b.watchWriter() {
		return
	}
	out := c.sendBuf[c.sendOff:]
	c.sendBuf, c.sendOff = b.takeSpare(), 0
	c.bytesWritten += int64(len(out))
	b.startWrite(out)
	if c.OnBufferDrain != nil {
		c.OnBufferDrain(c)
	}
}

// wrote runs on the loop when a writer that was asked to report (or that
// failed) has finished its batch.
func (b *connBridge) wrote(err error) {
	b.wstate.Store(wIdle)
	if b.closed {
		return
	}
	c := b.c
	if err != nil {
		c.sendFailed("client closed")
		c.destroy()
		return
	}
	if c.SendBufferLen() > 0 {
		b.kick()
		return
	}
	if c.status == StatusClosing {
		b.graceful = true
		c.destroy()
	}
}

// pause implements bridge: the reader stops reading (or resumes).
func (b *connBridge) pause(on bool) {
	b.mu.Lock()
	b.paused = on
	b.mu.Unlock()
	if on {
		return
	}
	b.cond.Signal()
	if b.c.Protocol == nil && len(b.c.recvBuf) > ReadChunk {
		// Before ResumeRecv's own delivery of the whole buffer.
		b.loop.Post(b.resumeRaw)
	}
	if err := b.readErr; err != nil {
		b.readErr = nil
		c := b.c
		b.loop.Post(func() {
			if b.closed {
				return
			}
			if !c.paused && c.status == StatusEstablished && len(c.recvBuf) > 0 {
				c.process(c.recvBuf, true)
			}
			if !b.closed {
				b.readEnded(err)
			}
		})
	}
}

// closeAfterFlush implements bridge; the connection is already Closing.
func (b *connBridge) closeAfterFlush(c *Connection) {
	if b.closed {
		return
	}
	if c.SendBufferLen() == 0 && !b.watchWriter() {
		b.graceful = b.ready
		c.destroy()
		return
	}
	b.kick()
}

// close implements bridge: it stops both goroutines and closes the socket.
// After a flushed Close the peer gets a TLS close_notify first.
func (b *connBridge) close() {
	if b.closed {
		return
	}
	b.closed = true
	b.mu.Lock()
	b.done = true
	b.mu.Unlock()
	b.cond.Broadcast()
	if b.graceful && b.tc != nil {
		// close_notify may wait (up to 5 s) for room in the socket buffer.
		go b.closeGracefully()
		return
	}
	b.raw.Close()
}

// Bounds of the lingering close of a TLS connection (see closeGracefully):
// it waits for the peer at most lingerIdle once all its output has been
// acknowledged, lingerMax in all, and discards at most lingerBytes.
const (
	lingerIdle  = 2 * time.Second
	lingerMax   = 30 * time.Second
	lingerBytes = 16 << 20
	lingerSlice = 100 * time.Millisecond
)

// closeGracefully runs on its own goroutine after a flushed Close. It
// stops the reader, sends close_notify and a FIN, and then keeps reading
// and discarding the peer's input until the peer closes its side too, or
// the peer has acknowledged everything and lingerIdle has passed, or a
// bound is reached, before it closes the socket. Closing a socket while
// the peer's input is still arriving makes the kernel answer with a reset,
// and a reset destroys what the peer has received but not yet read (the
// reply that was just flushed, the close_notify itself), as well as
// whatever the kernel has not sent yet.
func (b *connBridge) closeGracefully() {
	if b.readerDone != nil {
		b.raw.SetReadDeadline(time.Now())
		select {
		case <-b.readerDone:
		case <-time.After(time.Second):
			// The reader is stuck in crypto/tls; close at once.
			b.raw.Close()
			return
		}
	}
	start := time.Now()
	// close_notify waits for room in the socket buffer, which a slow
	// reader frees late: bound it too.
	b.raw.SetWriteDeadline(start.Add(lingerMax))
	if cw, ok := b.conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	sc, ok := b.raw.(syscall.Conn)
	if !ok {
		b.raw.Close()
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		b.raw.Close()
		return
	}
	unsent := func() (n int) {
		rc.Control(func(fd uintptr) {
			n = unsentBytes(int(fd))
		})
		return n
	}
	rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_WR) })
	buf := make([]byte, 32<<10)
	busy := time.Now()
	for total := 0; total < lingerBytes; {
		now := time.Now()
		if unsent() > 0 {
			busy = now
		}
		if now.Sub(busy) >= lingerIdle || now.Sub(start) >= lingerMax {
			break
		}
		b.raw.SetReadDeadline(now.Add(lingerSlice))
		n, err := b.raw.Read(buf)
		total += n
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			break // the peer closed (or reset) its side
		}
	}
	b.raw.Close()
}
