package workerman

import (
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

// tlsHandshakeInMax bounds the input read ahead of a handshake; the loop
// stops reading beyond it until the handshake has taken it.
const tlsHandshakeInMax = 128 << 10

// tlsHandshake is what the loop and the handshake goroutine share.
type tlsHandshake struct {
	b       *tlsLoop
	fd      int
	mu      sync.Mutex
	cond    sync.Cond
	in      []byte
	buf     []byte // the buffer in starts in, from tlsHandshakeBufs
	err     error  // no more input: the peer's end, or the loop gave up
	stalled bool   // the loop stopped reading: in is full
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
	n := h.b.tr.rec.take(h.in, len(p))
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
		h.b.loop.Post(h.b.resumeHandshakeInput)
	}
	return n, nil
}

// resumeHandshakeInput runs on the loop when a stalled handshake read may
// go on.
func (b *tlsLoop) resumeHandshakeInput() {
	if !b.ready && !b.closed && b.hs != nil {
		b.c.setEvents(eventloop.Readable)
	}
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
	if len(h.in) == 0 && len(data) > 0 {
		if h.buf == nil {
			h.buf = tlsHandshakeBufs.get()
		}
		h.in = h.buf[:0]
	}
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
	h.b.loop.Readied()
	return stop
}

// tlsHandshakeBufs keeps the buffers of handshakes that have ended for
// the next ones (an allocation each otherwise). It is used on the loop
// only.
var tlsHandshakeBufs tlsBufStack

type tlsBufStack [][]byte

const (
	tlsHandshakeBufSize = 4 << 10
	tlsHandshakeBufsMax = 64
)

func (s *tlsBufStack) get() []byte {
	if n := len(*s); n > 0 {
		b := (*s)[n-1]
		(*s)[n-1] = nil
		*s = (*s)[:n-1]
		return b
	}
	return make([]byte, 0, tlsHandshakeBufSize)
}

func (s *tlsBufStack) put(b []byte) {
	if cap(b) == tlsHandshakeBufSize && len(*s) < tlsHandshakeBufsMax {
		*s = append(*s, b[:0])
	}
}

// release gives the input buffer back once the goroutine has ended, unless
// what is left in it is still to be read.
func (h *tlsHandshake) release() {
	if len(h.in) == 0 && h.buf != nil {
		tlsHandshakeBufs.put(h.buf)
	}
	h.buf, h.in = nil, nil
}

// fail makes the handshake goroutine give up.
func (h *tlsHandshake) fail(err error) {
	h.abort.Store(true)
	h.feed(nil, err)
}

var errHandshakeTimeout = errors.New("workerman: tls handshake timed out")

func (b *tlsLoop) startHandshake() {
	b.hsRunning = true
	go b.runHandshake()
	b.loop.Readied()
}

// runHandshake is the handshake goroutine. Its outcome reaches the loop
// through tlsFinished.
func (b *tlsLoop) runHandshake() {
	b.hsErr = b.tc.Handshake()
	tlsFinished.add(b)
}

// tlsFinished holds the connections whose handshake goroutine has ended,
// until the loop takes them: one task posted to the loop takes all that
// have ended meanwhile, and no closure is made per handshake.
var tlsFinished tlsFinishedQueue

type tlsFinishedQueue struct {
	mu      sync.Mutex
	ready   []*tlsLoop
	next    int // ready[next:] are waiting
	takeAll func()
}

func (q *tlsFinishedQueue) add(b *tlsLoop) {
	q.mu.Lock()
	first := q.next == len(q.ready)
	q.ready = append(q.ready, b)
	if q.takeAll == nil {
		q.takeAll = q.take
	}
	f := q.takeAll
	q.mu.Unlock()
	if first {
		b.loop.Post(f)
	}
}

// take runs on the loop. It takes one connection at a time, so that those
// ending meanwhile are taken too, and a panic in a callback leaves the
// others waiting for a task posted again.
func (q *tlsFinishedQueue) take() {
	var loop *eventloop.Loop
	defer func() {
		q.mu.Lock()
		left := q.next < len(q.ready)
		f := q.takeAll
		q.mu.Unlock()
		if left && loop != nil {
			loop.Post(f)
		}
	}()
	for {
		q.mu.Lock()
		if q.next == len(q.ready) {
			clear(q.ready)
			q.ready, q.next = q.ready[:0], 0
			q.mu.Unlock()
			return
		}
		b := q.ready[q.next]
		q.ready[q.next] = nil
		q.next++
		q.mu.Unlock()
		loop = b.loop
		err := b.hsErr
		b.hsErr = nil
		b.handshakeDone(err)
	}
}

// tlsPending lists the server handshakes in progress, the one due to time
// out first at the front, with one loop timer for the front one instead
// of one per connection. It is used on the loop only.
var tlsPending tlsPendingList

type tlsPendingList struct {
	head, tail *tlsLoop
	timer      int
	timerAt    int64 // when the timer fires (UnixNano)
	expire     func()
}

type tlsPendingLink struct {
	prev, next *tlsLoop
	deadline   int64 // UnixNano
	listed     bool
}

// add lists b, whose handshake must end within timeout.
func (l *tlsPendingList) add(b *tlsLoop, timeout time.Duration) {
	p := &b.pending
	p.deadline = time.Now().Add(timeout).UnixNano()
	p.listed = true
	// Usually the last; walk back past any later deadline (the timeout
	// was shortened).
	at := l.tail
	for at != nil && at.pending.deadline > p.deadline {
		at = at.pending.prev
	}
	p.prev = at
	if at == nil {
		p.next, l.head = l.head, b
	} else {
		p.next, at.pending.next = at.pending.next, b
	}
	if p.next == nil {
		l.tail = b
	} else {
		p.next.pending.prev = b
	}
	l.arm(b.loop)
}

// remove unlists b, if it is listed.
func (l *tlsPendingList) remove(b *tlsLoop) {
	p := &b.pending
	if !p.listed {
		return
	}
	if p.prev == nil {
		l.head = p.next
	} else {
		p.prev.pending.next = p.next
	}
	if p.next == nil {
		l.tail = p.prev
	} else {
		p.next.pending.prev = p.prev
	}
	*p = tlsPendingLink{}
}

// arm makes sure the timer fires no later than the front's deadline.
func (l *tlsPendingList) arm(loop *eventloop.Loop) {
	if l.head == nil {
		return
	}
	due := l.head.pending.deadline
	// The timer may be gone without firing: Timers.DelAll deletes every
	// timer of the process.
	if l.timer != 0 && l.timerAt <= due && loop.HasTimer(l.timer) {
		return
	}
	if l.timer != 0 {
		loop.DelTimer(l.timer)
	}
	if l.expire == nil {
		l.expire = l.expireDue
	}
	l.timerAt = due
	l.timer = loop.AddTimer(time.Duration(due-time.Now().UnixNano()), false, l.expire)
}

// expireDue ends the handshakes whose time is up.
func (l *tlsPendingList) expireDue() {
	l.timer = 0
	var loop *eventloop.Loop
	now := time.Now().UnixNano()
	for l.head != nil && l.head.pending.deadline <= now {
		b := l.head
		loop = b.loop
		l.remove(b)
		b.handshakeTimeout()
	}
	if l.head != nil {
		if loop == nil {
			loop = l.head.loop
		}
		l.arm(loop)
	}
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
		b.hsState.release()
		unix.Close(b.fd)
		return
	}
	tlsPending.remove(b)
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
	if len(hs.in) > 0 {
		b.tr.src, b.tr.srcShared = hs.in, false
	}
	b.tr.eof = hs.err != nil
	hs.release()
	hs.err = nil
	hs.mu.Unlock()
	b.hs, b.tr.hs = nil, nil
	b.tr.rec.afterHandshake(b.tc.ConnectionState().Version)
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
