package workerman

import (
	"errors"
	"io"
	"net"

	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/unix"
)

// tlsPlainSize is the most decrypted input gathered before the
// connection's protocol sees it, no more than a native read delivers (so
// Pipe's flow control holds as well). Records are decrypted into the
// buffer while more than a whole record's plaintext (tlsMaxPlain) fits,
// so that each tls.Conn.Read is offered more than crypto/tls can hold
// decrypted: a Read always takes all of it, and the next one would have to
// read the transport. The buffer has one byte more than tlsPlainSize for
// the fourth record.
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
	b.tr.budget = tlsReadBudget
	if b.fill() {
		b.decrypt()
	}
}

// fill reads the socket into the transport; it reports false if there
// was nothing to read or the connection was destroyed.
func (b *tlsLoop) fill() bool {
	c := b.c
	n, err := b.tr.fill(b.fd)
	if err != nil {
		if err == unix.EAGAIN || err == unix.EINTR {
			return false
		}
		c.destroy()
		return false
	}
	if n == 0 {
		b.tr.eof = true
		c.setEvents(c.events &^ eventloop.Readable)
	}
	return true
}

// decrypt reads what crypto/tls can decrypt from the input it has been
// given and hands it to the connection's protocol.
func (b *tlsLoop) decrypt() {
	c := b.c
	if tlsPlain == nil {
		tlsPlain = make([]byte, tlsPlainSize+1)
	}
	plain := tlsPlain
	b.batching = true
	var end error
	for !b.closed && !c.paused && c.status == StatusEstablished {
		off := 0
		var err error
		for len(plain)-off > tlsMaxPlain {
			tr := &b.tr
			if tr.wantsMore() {
				if b.fill(); b.closed {
					break
				}
			}
			if !tr.eof && tr.rec.held == 0 && !tr.rec.completes(tr.src) {
				err = errWouldBlock
				break
			}
			var m int
			m, err = b.tc.Read(plain[off:])
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
	if !b.tr.streaming && c.SendBufferLen() == 0 && cap(c.sendBuf) > 4*tlsBatchMax {
		c.sendBuf, c.sendOff = nil, 0
	}
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
		if !b.batching && theProc().batching {
			// Sent while another connection's batch is handled: written
			// when that batch ends (batch.go).
			c.markPending()
		} else if !b.batching {
			n, err := unix.Write(b.fd, p)
			if n == len(p) {
				return n, nil
			}
			if err != nil && err != unix.EAGAIN && err != unix.EINTR {
				return 0, err
			}
			b.queue(p[max(n, 0):])
			c.setWritable(true)
			return len(p), nil
		}
	}
	b.queue(p)
	return len(p), nil
}

// queue appends sealed records to the send buffer. When the buffer has to
// grow it doubles: append grows a large slice by a quarter at a time, so
// a buffer filling up to MaxSendBufferSize behind a slow peer would be
// copied and allocated about three times as often.
func (b *tlsLoop) queue(p []byte) {
	c := b.c
	if n := len(c.sendBuf) + len(p); n > cap(c.sendBuf) {
		grown := make([]byte, len(c.sendBuf), max(n, 2*cap(c.sendBuf)))
		copy(grown, c.sendBuf)
		c.sendBuf = grown
	}
	c.sendBuf = append(c.sendBuf, p...)
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

// releaseSendBuf empties the send buffer, dropping it if a burst grew it
// and the connection's input is not streaming (a bulk echo would grow it
// again at once; decrypt drops it once the input goes quiet).
func (b *tlsLoop) releaseSendBuf() {
	c := b.c
	if cap(c.sendBuf) > 4*tlsBatchMax && !b.tr.streaming {
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
		return c.holdSend(p)
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
	if (b.batching || c.pending) && !queued && c.SendBufferLen() >= min(tlsBatchMax, c.MaxSendBufferSize) {
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
