package workerman

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/unix"
)

// tlsHandshakeInMax bounds the input read ahead of a handshake; the loop
// stops reading beyond it until the handshake has taken it.
const tlsHandshakeInMax = 128 << 10

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
