package workerman

import "github.com/workerman-go/workerman/internal/counters"

// A connection accepted by a loop that runs on io_uring is served by
// completions (eventloop.CompletionHandler): the loop receives into its own
// buffers and calls HandleRecv, and the connection's output waits in
// sendBuf until the loop hands it to the kernel at the end of the round
// (eventloop.Loop.Send) and reports it written with HandleSent. The epoll
// path in connection_read.go and connection_send.go does not pass through
// here.

// ringWrite queues b behind what is already waiting and asks the loop to
// send it. Sends of one round leave together in one system call, so the
// result is always SendQueued (or SendFailed when the buffer was already
// full), and OnBufferDrain runs whenever a send empties the buffer.
func (c *Connection) ringWrite(b []byte) SendResult {
	// The buffer can become full without a send: when its output goes
	// into the kernel's hands at the end of a round, the socket's room no
	// longer counts (ringBackedUp). The first send to find it so is then
	// the one that fills it, queued and reported with OnBufferFull, as on
	// epoll; the sends after it are dropped.
	if c.SendBufferLen() > 0 && c.BufferIsFull() {
		if c.fullNoted {
			c.sendFailed("send buffer full and drop package")
			return SendFailed
		}
	} else {
		c.fullNoted = false
	}
	switch {
	case c.SendBufferLen() > 0:
		c.sendBuf = append(c.sendBuf, b...)
	case c.adoptQueue(b):
		c.sendOff = 0
	default:
		c.sendBuf, c.sendOff = append(c.queueFor(len(b), len(b)), b...), 0
	}
	// While a send is in the kernel's hands this does nothing: the rest
	// follows once it ends (HandleSent).
	c.loop.Send(c.fd, c.sendBuf[c.sendOff:])
	c.checkBufferWillFull()
	return SendQueued
}

// ringBackedUp is BufferIsFull on io_uring: over the limit while the
// kernel still holds a send, or over it by more than the socket has room
// for when nothing is in flight (this round's output, not offered yet).
func (c *Connection) ringBackedUp() bool {
	n := c.SendBufferLen()
	if n < c.MaxSendBufferSize {
		return false
	}
	if c.loop.SendInFlight(c.fd) {
		return true
	}
	return n-sendRoom(c.fd) >= c.MaxSendBufferSize
}

// HandleSent implements eventloop.CompletionHandler: n bytes of the send in
// flight were written.
func (c *Connection) HandleSent(fd int, n int, err error) {
	defer c.catchPanic()
	if c.status == StatusClosed {
		return
	}
	if err != nil {
		c.closeWhy = counters.CloseError
		c.sendFailed("client closed")
		c.destroy()
		return
	}
	c.bytesWritten += int64(n)
	c.sendOff += n
	if rest := c.SendBufferLen(); rest > 0 {
		// Nothing is in flight now: move the rest to the front so the
		// buffer does not grow by what was already written, once at
		// least as much was written as is left. Moving the rest after
		// every partial send would copy a large message over and over.
		if c.sendOff >= rest {
			copy(c.sendBuf, c.sendBuf[c.sendOff:])
			c.sendBuf, c.sendOff = c.sendBuf[:rest], 0
		}
		c.loop.Send(c.fd, c.sendBuf[c.sendOff:])
		return
	}
	c.releaseQueue()
	// Every send waits in the buffer on this path, so every one that
	// empties it is a drain.
	if c.OnBufferDrain != nil {
		c.OnBufferDrain(c)
	}
	if c.status == StatusClosing && c.SendBufferLen() == 0 {
		c.finishClose()
	}
}

// HandleRecv implements eventloop.CompletionHandler: data arrived (valid
// only during the call), or the input ended (empty data), or receiving
// failed.
func (c *Connection) HandleRecv(fd int, data []byte, err error) {
	defer c.catchPanic()
	if c.status == StatusClosed {
		return
	}
	if err != nil {
		c.closeWhy = counters.CloseError
		if c.SendBufferLen() > 0 {
			// As on epoll, where the failed socket reports itself
			// writable first: queued output is lost.
			c.sendFailed("client closed")
		}
		c.destroy()
		return
	}
	if len(data) == 0 {
		if c.paused && c.status == StatusEstablished {
			// The receive resumed with ResumeRecv reports the end again,
			// after what is buffered now has been delivered.
			return
		}
		c.onEOF()
		return
	}
	c.bytesRead += int64(len(data))
	if c.status == StatusClosing {
		// Closing: input is discarded while the send buffer drains.
		return
	}
	if c.paused {
		// Received before the loop withdrew the receive: kept for
		// ResumeRecv, as the kernel would have kept it.
		c.recvBuf = append(c.recvBuf, data...)
		return
	}
	if len(c.recvBuf) > 0 {
		c.recvBuf = append(c.recvBuf, data...)
		c.process(c.recvBuf, true)
		return
	}
	if c.Protocol == nil {
		if rest := c.ringDeliverRaw(data); len(rest) > 0 && c.status == StatusEstablished {
			c.recvBuf = append(c.recvBuf, rest...)
		}
		return
	}
	c.process(data, false)
}

// ringDeliverRaw hands raw bytes to OnMessage in pieces no larger than a
// read of the epoll path, so that a pause (Pipe's flow control) takes
// effect between them; it returns what a pause left undelivered.
func (c *Connection) ringDeliverRaw(data []byte) []byte {
	for len(data) > 0 && !c.paused && c.status == StatusEstablished {
		n := min(len(data), ReadChunk)
		c.process(data[:n], false)
		data = data[n:]
	}
	return data
}

// ringResumeRaw delivers raw bytes kept during a pause, piece by piece,
// before ResumeRecv's own delivery of the whole buffer.
func (c *Connection) ringResumeRaw() {
	if c.paused || c.status != StatusEstablished || len(c.recvBuf) == 0 {
		return
	}
	buf := c.recvBuf
	c.recvBuf = nil
	if rest := c.ringDeliverRaw(buf); len(rest) > 0 && c.status == StatusEstablished {
		c.recvBuf = append(c.recvBuf, rest...)
	}
}
