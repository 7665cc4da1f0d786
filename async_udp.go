package workerman

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/unix"
)

// NewAsyncUdpConnection creates an outbound UDP "connection", Workerman's
// AsyncUdpConnection: a UDP socket connected to one peer, for an address
// such as "udp://127.0.0.1:1234" or "text://127.0.0.1:1234" (a protocol
// over UDP). Set its callbacks, then call Connect, which runs OnConnect as
// soon as the socket is ready (UDP has no handshake).
//
// Each Send is one datagram; each datagram received from the peer is
// decoded on its own (a datagram holds whole packages) and delivered to
// OnMessage. Sends made before the connection is ready are kept and sent
// in order once it is. Close closes the socket and runs OnClose. opts may
// be nil; only BindTo and ConnectTimeout apply.
func NewAsyncUdpConnection(address string, opts *DialOptions) (*Connection, error) {
	ep, err := parseEndpoint(address)
	if err != nil {
		return nil, err
	}
	var proto Protocol
	switch ep.scheme {
	case "udp":
	case "tcp", "unix", "ssl":
		return nil, fmt.Errorf("workerman: %q: NewAsyncUdpConnection needs udp:// or a protocol scheme", address)
	default:
		p, ok := LookupProtocol(ep.scheme)
		if !ok {
			return nil, fmt.Errorf("workerman: address %q: unknown protocol %q", address, ep.scheme)
		}
		proto = p
	}
	ep.network = "udp"
	a := &asyncState{ep: ep}
	if opts != nil {
		a.opts = *opts
	}
	if a.opts.Transport != "" && a.opts.Transport != "udp" {
		return nil, fmt.Errorf("workerman: transport %q cannot be used for UDP", a.opts.Transport)
	}
	a.opts.Transport = "udp"
	c := newAsyncConnection(proto, "udp", a)
	c.ext.bridge = &udpBridge{c: c, fd: -1}
	return c, nil
}

// udpBridge is the I/O source of an outbound UDP connection: a connected
// datagram socket on the loop. It uses the bridge seam so that Close and
// Destroy close the socket and run OnClose, unlike the per-datagram
// connections of a UDP worker.
type udpBridge struct {
	c       *Connection
	fd      int
	events  eventloop.Event
	pending [][]byte // datagrams sent before the socket was ready
	closed  bool
}

// dialUDP opens and connects the socket, then establishes the connection.
func (c *Connection) dialUDP(sa unix.Sockaddr, family int) {
	a := c.ext.async
	b, _ := c.ext.bridge.(*udpBridge)
	if b == nil || b.closed {
		return
	}
	fd, err := newSocket(family, unix.SOCK_DGRAM)
	if err != nil {
		c.connectFailed(os.NewSyscallError("socket", err))
		return
	}
	if a.opts.BindTo != "" {
		if err := bindTo(fd, a.opts.BindTo); err != nil {
			unix.Close(fd)
			c.connectFailed(err)
			return
		}
	}
	if err := unix.Connect(fd, sa); err != nil {
		unix.Close(fd)
		c.connectFailed(os.NewSyscallError("connect", err))
		return
	}
	ev := eventloop.Readable
	if c.paused {
		ev = 0
	}
	if err := c.loop.AddHandler(fd, ev, b); err != nil {
		unix.Close(fd)
		c.connectFailed(err)
		return
	}
	b.fd, b.events, c.fd = fd, ev, fd
	if psa, err := unix.Getpeername(fd); err == nil {
		c.remote = sockaddrToAddrPort(psa)
	}
	if a.timeout != 0 {
		Timer.Del(a.timeout)
		a.timeout = 0
	}
	a.established = true
	c.status = StatusEstablished
	pending := b.pending
	b.pending = nil
	for _, d := range pending {
		if c.status != StatusEstablished {
			break
		}
		b.write(c, d)
	}
	if o, ok := c.Protocol.(ConnectionOpener); ok && c.status == StatusEstablished {
		o.OnConnectionOpen(c)
	}
	if c.OnConnect != nil && c.status == StatusEstablished {
		c.OnConnect(c)
	}
}

// bindTo binds fd to the local "ip:port" address.
func bindTo(fd int, addr string) error {
	bep, err := parseEndpoint("tcp://" + addr)
	var ip netip.Addr
	if err == nil {
		ip, err = netip.ParseAddr(bep.host)
	}
	if err == nil {
		bsa, _ := sockaddrOf(netip.AddrPortFrom(ip, uint16(bep.port)))
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		err = unix.Bind(fd, bsa)
	}
	if err != nil {
		return fmt.Errorf("bind to %s: %w", addr, err)
	}
	return nil
}

// write implements bridge: one datagram per call.
func (b *udpBridge) write(c *Connection, p []byte) SendResult {
	if b.closed {
		return SendFailed
	}
	if b.fd < 0 {
		b.pending = append(b.pending, append([]byte(nil), p...))
		return SendQueued
	}
	if _, err := unix.Write(b.fd, p); err != nil {
		// ECONNREFUSED from an earlier ICMP error, EAGAIN when the socket
		// buffer is full: UDP drops rather than queues.
		theProc().stats.SendFail++
		if c.OnError != nil {
			c.OnError(c, SendFail, "udp send failed: "+err.Error())
		}
		return SendFailed
	}
	c.bytesWritten += int64(len(p))
	return SendOK
}

func (b *udpBridge) pause(on bool) {
	if b.fd < 0 || b.closed {
		return
	}
	ev := eventloop.Readable
	if on {
		ev = 0
	}
	if ev != b.events && b.c.loop.ModifyHandler(b.fd, ev) == nil {
		b.events = ev
	}
}

func (b *udpBridge) closeAfterFlush(c *Connection) { c.destroy() }

func (b *udpBridge) close() {
	if b.closed {
		return
	}
	b.closed = true
	b.pending = nil
	if b.fd >= 0 {
		if b.c.loop.Watched(b.fd) {
			b.c.loop.RemoveHandler(b.fd)
		}
		unix.Close(b.fd)
		b.fd = -1
	}
}

// HandleEvent reads the datagrams waiting on the socket.
func (b *udpBridge) HandleEvent(fd int, ev eventloop.Event) {
	c := b.c
	buf := c.loop.ReadBuffer()
	for i := 0; i < acceptBatch && !b.closed && !c.paused && c.status == StatusEstablished; i++ {
		n, err := unix.Read(fd, buf)
		if err != nil {
			if err == unix.EAGAIN || err == unix.EINTR {
				return
			}
			if err == unix.ECONNREFUSED {
				// The peer's port is closed (an ICMP error for an earlier
				// datagram); later datagrams may still get through.
				continue
			}
			logger().Warn("udp receive failed", "connection", c.ID, "err", os.NewSyscallError("read", err))
			return
		}
		c.bytesRead += int64(n)
		c.deliverDatagram(buf[:n])
	}
}

// deliverDatagram decodes one datagram: it holds whole packages only.
func (c *Connection) deliverDatagram(data []byte) {
	ps := theProc()
	if c.Protocol == nil {
		ps.stats.TotalRequest++
		if c.OnMessage != nil {
			c.OnMessage(c, data)
		}
		return
	}
	for len(data) > 0 && c.status == StatusEstablished {
		n, err := c.Protocol.Input(data, c)
		if err != nil || n <= 0 || n > len(data) {
			return
		}
		msg, err := c.Protocol.Decode(data[:n], c)
		data = data[n:]
		if err != nil || msg == nil {
			continue
		}
		ps.stats.TotalRequest++
		if c.OnMessage != nil {
			c.OnMessage(c, msg)
		}
	}
}
