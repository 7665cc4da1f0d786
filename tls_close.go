package workerman

import (
	"net"
	"time"

	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/unix"
)

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
	tlsPending.remove(b)
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
