package workerman

import (
	"fmt"
	"unsafe"

	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/counters"
	"github.com/workerman-go/workerman/internal/unix"
)

// Send encodes data with the connection's protocol (or sends it as raw bytes
// when there is none; data is then a []byte or a string) and writes it.
//
// As in Workerman: when the send buffer is empty, Send writes straight to
// the socket and returns SendOK if the kernel took everything; what is left
// is queued (SendQueued). A send that makes the buffer reach
// MaxSendBufferSize is still queued and fires OnBufferFull; a send while the
// buffer is already full is dropped, fires OnError with SendFail and counts
// as a send failure (SendFailed). While the loop handles a message that
// arrived together with more input, sends to any connection are queued
// and written once the batch is handled (see "Sending" in the package
// doc). Sending on a closing or closed connection returns SendFailed.
// Data the protocol cannot encode (a map sent on an HTTP connection, say)
// is not sent either: Send returns SendFailed and OnError gets SendFail
// with the protocol's reason.
func (c *Connection) Send(data any) SendResult {
	c.checkLoop("Send")
	if c.Protocol == nil {
		return c.SendRaw(data)
	}
	if c.status >= StatusClosing {
		return SendFailed
	}
	counters.P.MessagesOut++
	buf, err := c.Protocol.Encode(c.scratch(), data, c)
	defer reclaimLent() // what EncodeBuffer lent, if the queue did not adopt it
	if err == ErrCloseAfterSend {
		r := c.write(buf)
		c.Close()
		return r
	}
	if err != nil {
		c.encodeFailed(data, err)
		return SendFailed
	}
	return c.write(buf)
}

// SendRaw sends data ([]byte or string) without encoding it, Workerman's
// send($data, true).
func (c *Connection) SendRaw(data any) SendResult {
	c.checkLoop("SendRaw")
	if c.status >= StatusClosing {
		return SendFailed
	}
	counters.P.MessagesOut++
	switch v := data.(type) {
	case []byte:
		return c.write(v)
	case string:
		return c.write(unsafe.Slice(unsafe.StringData(v), len(v)))
	default:
		buf, err := appendData(c.scratch(), data)
		if err != nil {
			c.encodeFailed(data, err)
			return SendFailed
		}
		return c.write(buf)
	}
}

// scratch returns the loop's encode buffer, emptied.
func (c *Connection) scratch() []byte {
	ps := theProc()
	return ps.encodeBuf[:0]
}

// write sends b, which may alias the encode buffer or the caller's memory:
// anything kept is copied.
func (c *Connection) write(b []byte) SendResult {
	if len(b) == 0 {
		return SendOK
	}
	if c.udpPeer != nil {
		return c.writeUDP(b)
	}
	if br := c.bridged(); br != nil {
		return br.write(c, b)
	}
	if c.status == StatusConnecting || c.status == StatusInitial {
		// An outbound connection not connected yet (or not even asked to
		// connect) keeps what is sent until it is, within the same limit
		// as a connected one, so Pipe can pause a fast source meanwhile.
		return c.holdSend(b)
	}
	if c.ring {
		return c.ringWrite(b)
	}
	if c.SendBufferLen() == 0 {
		if theProc().batching && len(b) < batchFlushSize {
			return c.deferWrite(b)
		}
		n, err := unix.Write(c.fd, b)
		if n == len(b) {
			c.bytesWritten += int64(n)
			return SendOK
		}
		if err != nil && err != unix.EAGAIN && err != unix.EINTR {
			c.sendFailed("client closed")
			c.closeWhy = counters.CloseError
			c.destroy()
			return SendFailed
		}
		if n < 0 {
			n = 0
		}
		c.bytesWritten += int64(n)
		c.sendOff = 0
		if c.adoptQueue(b) {
			c.sendOff = n
		} else {
			c.sendBuf = append(c.queueFor(len(b)-n, len(b)), b[n:]...)
		}
		c.setWritable(true)
		c.checkBufferWillFull()
		return SendQueued
	}
	r := c.holdSend(b)
	if c.pending {
		c.flushBatchFull()
	}
	return r
}

// encodeFailed reports data the protocol could not encode: OnError gets
// SendFail with the protocol's reason; without an OnError the reason is
// logged, so it is never lost.
func (c *Connection) encodeFailed(data any, err error) {
	msg := fmt.Sprintf("cannot encode %T for sending: %v", data, err)
	if c.OnError == nil {
		logger().Error("send failed", "connection", c.ID, "err", msg)
	}
	c.sendFailed(msg)
}

func (c *Connection) sendFailed(msg string) {
	theProc().stats.SendFail++
	if c.OnError != nil {
		c.OnError(c, SendFail, msg)
	}
}

func (c *Connection) checkBufferWillFull() {
	if c.BufferIsFull() {
		c.fullNoted = true
		counters.P.BufferFull++
		if c.OnBufferFull != nil {
			c.OnBufferFull(c)
		}
	}
}

func (c *Connection) setWritable(on bool) {
	ev := c.events
	if on {
		ev |= eventloop.Writable
	} else {
		ev &^= eventloop.Writable
	}
	c.setEvents(ev)
}

func (c *Connection) setEvents(ev eventloop.Event) {
	if ev == c.events || c.status == StatusClosed {
		return
	}
	if err := c.loop.ModifyHandler(c.fd, ev); err != nil {
		logger().Error("epoll modify failed", "connection", c.ID, "err", err)
		return
	}
	c.events = ev
}

// flush writes queued bytes; it runs when the socket is writable and after
// a pipelined batch.
func (c *Connection) flush() {
	if c.SendBufferLen() == 0 {
		c.setWritable(false)
		return
	}
	if !c.writeQueued() {
		return
	}
	if c.SendBufferLen() > 0 {
		c.setWritable(true)
		return
	}
	c.releaseQueue()
	c.setWritable(false)
	if c.OnBufferDrain != nil {
		c.OnBufferDrain(c)
	}
	if c.status == StatusClosing {
		c.finishClose()
	}
}

// writeQueued writes what the send buffer holds, as much as the socket
// takes; it reports false if the write failed and the connection was
// destroyed.
func (c *Connection) writeQueued() bool {
	n, err := unix.Write(c.fd, c.sendBuf[c.sendOff:])
	if n > 0 {
		c.sendOff += n
		c.bytesWritten += int64(n)
	}
	if err != nil && err != unix.EAGAIN && err != unix.EINTR {
		c.sendFailed("client closed")
		c.closeWhy = counters.CloseError
		c.destroy()
		return false
	}
	return true
}

// holdSend queues b behind what waits to be written (or until the
// connection can write: it is connecting, or handshaking TLS), within the
// send buffer's limit.
func (c *Connection) holdSend(b []byte) SendResult {
	if c.BufferIsFull() {
		c.sendFailed("send buffer full and drop package")
		return SendFailed
	}
	c.sendBuf = append(c.sendBuf, b...)
	c.checkBufferWillFull()
	return SendQueued
}
