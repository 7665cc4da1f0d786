package workerman

import (
	"os"

	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/unix"
)

// udpReceiver reads the datagrams of a UDP worker.
type udpReceiver struct{ w *Worker }

func (u udpReceiver) HandleEvent(fd int, ev eventloop.Event) {
	p := theProc()
	w := u.w
	buf := p.loop.ReadBuffer()
	for i := 0; i < acceptBatch; i++ {
		n, sa, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if err != unix.EAGAIN && err != unix.EINTR {
				logger().Error("udp receive failed", "worker", w.Name, "err", os.NewSyscallError("recvfrom", err))
			}
			return
		}
		c := w.newConnection(p)
		c.ID = 0
		p.nextConn--
		c.fd = fd
		c.transport = "udp"
		c.status = StatusEstablished
		c.udpPeer = sa
		c.remote = sockaddrToAddrPort(sa)
		w.handleDatagram(c, buf[:n])
	}
}

func (w *Worker) handleDatagram(c *Connection, data []byte) {
	p := theProc()
	if c.Protocol == nil {
		p.stats.TotalRequest++
		if c.OnMessage != nil {
			c.OnMessage(c, data)
		}
		return
	}
	for len(data) > 0 {
		n, err := c.Protocol.Input(data, c)
		if err != nil || n <= 0 || n > len(data) {
			// A datagram holds whole packages only.
			return
		}
		msg, err := c.Protocol.Decode(data[:n], c)
		data = data[n:]
		if err != nil {
			continue
		}
		p.stats.TotalRequest++
		if c.OnMessage != nil {
			c.OnMessage(c, msg)
		}
	}
}

// writeUDP sends one datagram to the connection's peer.
func (c *Connection) writeUDP(b []byte) SendResult {
	if err := unix.Sendto(c.fd, b, 0, c.udpPeer); err != nil {
		theProc().stats.SendFail++
		return SendFailed
	}
	c.bytesWritten += int64(len(b))
	return SendOK
}
