package workerman

import (
	"errors"

	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/counters"
	"github.com/workerman-go/workerman/internal/unix"
)

// HandleEvent implements eventloop.Handler.
func (c *Connection) HandleEvent(fd int, ev eventloop.Event) {
	defer c.catchPanic()
	if ev&eventloop.Hangup != 0 && c.paused && c.status == StatusEstablished {
		// Reset or error while not reading: nothing more can arrive.
		c.closeWhy = counters.CloseError
		c.destroy()
		return
	}
	if ev&eventloop.Writable != 0 {
		if c.status == StatusConnecting {
			c.finishConnect()
			return
		}
		c.flush()
	}
	if ev&eventloop.Readable != 0 && c.status != StatusClosed {
		if c.status == StatusConnecting {
			c.finishConnect()
			return
		}
		c.read()
	}
}

func (c *Connection) read() {
	if c.paused && c.status != StatusClosing {
		return
	}
	var (
		n   int
		err error
	)
	fromRecvBuf := len(c.recvBuf) > 0
	if fromRecvBuf {
		want := ReadChunk
		if c.pkgLen > len(c.recvBuf) && c.pkgLen-len(c.recvBuf) > want {
			want = c.pkgLen - len(c.recvBuf)
		}
		if cap(c.recvBuf)-len(c.recvBuf) < want {
			nb := make([]byte, len(c.recvBuf), len(c.recvBuf)+want)
			copy(nb, c.recvBuf)
			c.recvBuf = nb
		}
		n, err = unix.Read(c.fd, c.recvBuf[len(c.recvBuf):cap(c.recvBuf)])
	} else {
		n, err = unix.Read(c.fd, c.loop.ReadBuffer())
	}
	if err != nil {
		if err == unix.EAGAIN || err == unix.EINTR {
			return
		}
		c.closeWhy = counters.CloseError
		c.destroy()
		return
	}
	if n == 0 {
		c.onEOF()
		return
	}
	c.bytesRead += int64(n)
	if c.status == StatusClosing {
		// Closing: input is discarded while the send buffer drains.
		if fromRecvBuf {
			c.recvBuf = c.recvBuf[:0]
		}
		return
	}
	if fromRecvBuf {
		c.recvBuf = c.recvBuf[:len(c.recvBuf)+n]
		c.process(c.recvBuf, true)
	} else {
		c.process(c.loop.ReadBuffer()[:n], false)
	}
}

// ReadChunk is how many bytes a connection asks the kernel for at once when
// it is completing a package.
const ReadChunk = 64 << 10

func (c *Connection) onEOF() {
	// The peer will send no more. Flush what is queued, then close.
	c.closeWhy = counters.ClosePeer
	if c.SendBufferLen() > 0 && c.status == StatusEstablished {
		c.status = StatusClosing
		c.setEvents(eventloop.Writable)
		return
	}
	c.destroy()
}

// process decodes and dispatches the packages in data, then writes the
// output that handlers queued meanwhile (batch.go). inRecv says data is
// c.recvBuf rather than the loop's shared read buffer.
func (c *Connection) process(data []byte, inRecv bool) {
	ps := theProc()
	if ps.batching {
		// Called from a handler of an outer batch, which flushes.
		c.handleInput(ps, data, inRecv)
		return
	}
	// Deferred, so that a handler's panic does not leave the batch open.
	defer ps.endBatch()
	c.handleInput(ps, data, inRecv)
}

// handleInput is process without the batch's flush.
func (c *Connection) handleInput(ps *procState, data []byte, inRecv bool) {
	if c.Protocol == nil {
		ps.stats.TotalRequest++
		if c.OnMessage != nil {
			c.OnMessage(c, c.boxBytes(data))
			c.unboxBytes()
		}
		if inRecv {
			c.recvBuf = c.recvBuf[:0]
		}
		return
	}
	for len(data) > 0 && !c.paused && c.status == StatusEstablished {
		if c.pkgLen == 0 {
			n, err := c.Protocol.Input(data, c)
			if err != nil {
				c.protocolError(counters.ProtoInput, err)
				return
			}
			if n < 0 {
				c.protocolError(counters.ProtoInput, errors.New("protocol Input returned a negative length"))
				return
			}
			if n == 0 {
				if len(data) >= c.MaxPackageSize {
					c.protocolError(counters.ProtoTooLarge, ErrPackageTooLarge)
					return
				}
				break
			}
			if n > c.MaxPackageSize {
				c.protocolError(counters.ProtoTooLarge, ErrPackageTooLarge)
				return
			}
			c.pkgLen = n
		}
		if len(data) < c.pkgLen {
			if pi, ok := c.Protocol.(PartialInspector); ok {
				if err := pi.InspectPartial(data, c); err != nil {
					c.protocolError(counters.ProtoInput, err)
					return
				}
			}
			break
		}
		pkg := data[:c.pkgLen]
		data = data[c.pkgLen:]
		c.pkgLen = 0
		msg, err := c.Protocol.Decode(pkg, c)
		if err != nil {
			c.protocolError(counters.ProtoDecode, err)
			return
		}
		if msg == nil {
			// The protocol consumed a package that carries no message (a
			// control frame, a fragment).
			continue
		}
		ps.stats.TotalRequest++
		outer := ps.batching
		ps.batching = outer || len(data) > 0
		if c.OnMessage != nil {
			c.OnMessage(c, msg)
		}
		c.unboxBytes()
		ps.batching = outer
	}
	if c.status == StatusClosed {
		return
	}
	c.keep(data, inRecv)
}

// keep stores the unprocessed tail of the input for the next read.
func (c *Connection) keep(rest []byte, inRecv bool) {
	switch {
	case len(rest) == 0:
		if cap(c.recvBuf) > 4<<10 {
			c.recvBuf = nil
		} else {
			c.recvBuf = c.recvBuf[:0]
		}
	case inRecv:
		n := copy(c.recvBuf, rest)
		c.recvBuf = c.recvBuf[:n]
	default:
		c.recvBuf = append(c.recvBuf[:0], rest...)
	}
}

func (c *Connection) protocolError(kind int, err error) {
	counters.P.Protocol[kind]++
	c.closeWhy = counters.CloseProtocol
	logger().Warn("closing connection on bad input", "connection", c.ID, "remote", c.RemoteAddress(), "err", err)
	c.destroy()
}

// PauseRecv stops reading from the connection; received data stays in the
// kernel, which makes the peer slow down.
func (c *Connection) PauseRecv() {
	c.checkLoop("PauseRecv")
	if c.paused || c.status == StatusClosed {
		return
	}
	c.paused = true
	if br := c.bridged(); br != nil {
		br.pause(true)
		return
	}
	if c.udpPeer == nil && c.status != StatusConnecting {
		c.setEvents(c.events &^ eventloop.Readable)
	}
}

// ResumeRecv undoes PauseRecv. Packages already buffered are delivered on
// the next turn of the loop.
func (c *Connection) ResumeRecv() {
	c.checkLoop("ResumeRecv")
	if !c.paused || c.status == StatusClosed {
		return
	}
	c.paused = false
	if br := c.bridged(); br != nil {
		br.pause(false)
	} else if c.udpPeer == nil && c.status != StatusConnecting {
		c.setEvents(c.events | eventloop.Readable)
		if c.ring && c.Protocol == nil && len(c.recvBuf) > ReadChunk {
			c.loop.Post(c.ringResumeRaw)
		}
	}
	if len(c.recvBuf) > 0 {
		c.loop.Post(func() {
			defer c.catchPanic()
			if !c.paused && c.status == StatusEstablished && len(c.recvBuf) > 0 {
				c.process(c.recvBuf, true)
			}
		})
	}
}

// Pipe forwards everything received on c to dst, with flow control: when
// dst's send buffer fills, c stops reading until dst drains. When c closes,
// dst is closed after its buffer is flushed.
//
// The callbacks it sets are plain functions that find the other connection
// through c and dst, so piping a connection allocates nothing per callback.
func (c *Connection) Pipe(dst *Connection) {
	c.checkLoop("Pipe")
	if c.ext == nil {
		c.ext = &connExt{}
	}
	if dst.ext == nil {
		dst.ext = &connExt{}
	}
	c.ext.pipeTo, dst.ext.pipeFrom = dst, c
	c.OnMessage = pipeMessage
	c.OnClose = pipeClose
	dst.OnBufferFull = pipeFull
	dst.OnBufferDrain = pipeDrain
}

func pipeMessage(c *Connection, data any) { c.ext.pipeTo.Send(data) }
func pipeClose(c *Connection)             { c.ext.pipeTo.Close() }
func pipeFull(dst *Connection)            { dst.ext.pipeFrom.PauseRecv() }
func pipeDrain(dst *Connection)           { dst.ext.pipeFrom.ResumeRecv() }
