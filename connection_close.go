package workerman

import (
	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/counters"
	"github.com/workerman-go/workerman/internal/unix"
)

// Close sends data (if not nil) and closes the connection once the send
// buffer has been written out. Input received meanwhile is discarded.
func (c *Connection) Close(data ...any) {
	c.checkLoop("Close")
	if c.udpPeer != nil {
		for _, d := range data {
			c.Send(d)
		}
		return
	}
	switch c.status {
	case StatusConnecting, StatusInitial:
		c.destroy()
		return
	case StatusClosing, StatusClosed:
		return
	}
	for _, d := range data {
		c.Send(d)
	}
	if c.status == StatusClosed {
		return
	}
	c.status = StatusClosing
	if br := c.bridged(); br != nil {
		br.closeAfterFlush(c)
		return
	}
	if c.SendBufferLen() == 0 {
		c.finishClose()
		return
	}
	c.setEvents(eventloop.Writable)
}

// finishClose ends a connection closed with Close once its output is
// written. Closing a socket with unread input makes the kernel send a
// reset instead of a FIN, and the peer then reports the reset rather than
// the end of its input after the last bytes sent to it (a response, a
// close frame). So finishClose discards input that has already arrived,
// and sends the FIN itself before the socket is closed, since more input
// may arrive meanwhile: the peer reads everything, then the end, even if
// a reset follows.
func (c *Connection) finishClose() {
	if c.fd >= 0 && c.udpPeer == nil && c.bridged() == nil {
		// A connection served by completions has a receive in the
		// kernel's hands, which takes the input itself.
		if !c.ring {
			buf := c.loop.ReadBuffer()
			for i := 0; i < 4; i++ {
				if n, err := unix.Read(c.fd, buf); n <= 0 || err != nil {
					break
				}
			}
		}
		unix.Shutdown(c.fd, unix.SHUT_WR)
	}
	c.destroy()
}

// Destroy closes the connection at once, discarding unsent data.
func (c *Connection) Destroy() {
	c.checkLoop("Destroy")
	c.destroy()
}

func (c *Connection) destroy() {
	if c.status == StatusClosed || c.udpPeer != nil {
		return
	}
	c.status = StatusClosed
	if br := c.bridged(); br != nil {
		br.close()
	} else if c.fd >= 0 {
		if c.loop.Watched(c.fd) {
			c.loop.RemoveAndClose(c.fd)
		} else {
			unix.Close(c.fd)
		}
	}
	c.fd = -1
	c.sendBuf, c.recvBuf, c.sendOff, c.pkgLen = nil, nil, 0, 0
	ps := theProc()
	if c.Worker != nil {
		if _, ok := c.Worker.Connections[c.ID]; ok {
			delete(c.Worker.Connections, c.ID)
			ps.stats.Connections--
			if b := c.Worker.bal; b != nil {
				b.publish(len(c.Worker.Connections), c.Worker.accepting)
			}
			counters.P.Closed[c.closeWhy]++
			counters.P.BytesIn += c.bytesRead
			counters.P.BytesOut += c.bytesWritten
		}
	}
	if cc, ok := c.Protocol.(ConnectionCloser); ok {
		cc.OnConnectionClose(c)
	}
	if c.ext != nil && c.ext.cancel != nil {
		c.ext.cancel()
	}
	if c.OnClose != nil {
		c.OnClose(c)
	}
	if c.ext != nil && c.ext.async != nil {
		c.ext.async.onDestroyed(c)
	}
}
