package workerman

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/unix"
)

// Error codes passed to OnError, as in Workerman.
const (
	// ConnectFail reports that an outbound connection could not be made.
	ConnectFail = 1
	// SendFail reports that data could not be sent: the send buffer was full
	// or the peer had gone.
	SendFail = 2
)

// Status of a connection.
const (
	StatusInitial     = 0
	StatusConnecting  = 1
	StatusEstablished = 2
	StatusClosing     = 4
	StatusClosed      = 8
)

// SendResult is the outcome of Connection.Send, Workerman's true / null /
// false.
type SendResult int8

const (
	// SendFailed means the data was dropped: the connection is closing or
	// closed, the send buffer was already full, the peer had gone, or the
	// protocol could not encode it. OnError has been called where Workerman
	// calls it.
	SendFailed SendResult = iota - 1
	// SendQueued means some or all of the data waits in the connection's send
	// buffer and will be written when the socket is writable.
	SendQueued
	// SendOK means all of the data was handed to the kernel.
	SendOK
)

// DefaultMaxSendBufferSize is the send buffer limit given to new connections
// (1 MiB, as in Workerman).
var DefaultMaxSendBufferSize = 1 << 20

// DefaultMaxPackageSize is the largest package a protocol may announce before
// the connection is closed (10 MiB, as in Workerman).
//
// As in current Workerman (4 and 5), it is copied into a connection's
// MaxPackageSize when the connection is created: a change applies to the
// connections made afterwards, and one connection's limit is changed
// through its MaxPackageSize (Workerman 3.x read the static at every
// check). Set it before RunAll or in OnWorkerStart.
var DefaultMaxPackageSize = 10 << 20

// Connection is one client connection of a worker, or an outbound connection.
// Workerman's TcpConnection and UdpConnection are both a Connection here:
// TCP, Unix-socket and TLS streams, and the peer of one UDP datagram.
//
// All methods must be called on the event loop (inside a callback, or via
// Post). Send, SendRaw, Close, Destroy, PauseRecv, ResumeRecv and Pipe
// check it and panic, naming workerman.Post, when called from another
// goroutine while the loop runs (on amd64 and arm64). The exported fields may be changed in callbacks; the callbacks set
// on a connection override the worker's for that connection only.
type Connection struct {
	// ID identifies the connection within its process; IDs increase and are
	// never reused while the process lives.
	ID int
	// Protocol decodes received bytes and encodes sent data. It may be
	// switched at runtime (for instance from HTTP to WebSocket). Nil means
	// raw bytes.
	Protocol Protocol
	// Worker is the worker that accepted the connection; nil for an
	// outbound connection.
	Worker *Worker
	// MaxSendBufferSize bounds the bytes queued for sending; see Send.
	MaxSendBufferSize int
	// MaxPackageSize bounds the size of one received package.
	MaxPackageSize int
	// UserData is a slot for the application's own per-connection state,
	// the manual's $connection->uid and the like.
	UserData any
	// ProtocolData is reserved for the connection's Protocol, to keep its
	// per-connection state (a handshake flag, a decoder).
	ProtocolData any

	// OnMessage receives each decoded message. A []byte message is only
	// valid until the callback returns: copy it to keep it.
	OnMessage func(c *Connection, data any)
	// OnClose runs exactly once when the connection ends, however it ends.
	OnClose func(c *Connection)
	// OnBufferFull runs when the send buffer reaches MaxSendBufferSize.
	OnBufferFull func(c *Connection)
	// OnBufferDrain runs when the send buffer has been written out.
	OnBufferDrain func(c *Connection)
	// OnError reports a failure with a code (ConnectFail, SendFail) and a
	// message.
	OnError func(c *Connection, code int, msg string)
	// OnConnect runs when an outbound connection is established.
	OnConnect func(c *Connection)

	loop      *eventloop.Loop
	fd        int
	transport string
	status    uint8
	closeWhy  uint8 // why it closed, for the metrics (counters.Close*)
	paused    bool
	pending   bool // output queued during a batch, in procState.pending (batch.go)
	ring      bool // served by completions (io_uring): see connection_completion.go
	fullNoted bool // OnBufferFull reported for the buffer's present fill (io_uring)
	events    eventloop.Event
	pkgLen    int // length of the package being received, 0 if unknown
	recvBuf   []byte
	sendBuf   []byte
	sendOff   int
	remote    netip.AddrPort
	unixPath  string
	udpPeer   unix.Sockaddr

	bytesRead    int64
	bytesWritten int64

	ext *connExt // outbound and bridged connections only
	box *[]byte  // the header of the []byte message being delivered (box.go)
}

// connExt holds what only some connections need, keeping the common
// connection small.
type connExt struct {
	async  *asyncState
	bridge bridge // non-nil for a connection served by goroutines (TLS)
	// cancel ends the connection's Context; set once Context is called.
	cancel func()
	ctx    context.Context
	// local is the local address of a connection served without a
	// descriptor of its own (see worker_portable.go).
	local netip.AddrPort
	// pipeTo and pipeFrom link the connections of a Pipe.
	pipeTo, pipeFrom *Connection
}

// bridge is an I/O source that is not a pollable descriptor, such as a
// crypto/tls connection: goroutines read and write it and hand results to
// the loop.
type bridge interface {
	write(c *Connection, b []byte) SendResult
	pause(on bool)
	closeAfterFlush(c *Connection)
	close()
}

// bridged returns the connection's bridge, or nil for a native one.
func (c *Connection) bridged() bridge {
	if c.ext == nil {
		return nil
	}
	return c.ext.bridge
}

// Status returns the connection's state: StatusConnecting,
// StatusEstablished, StatusClosing or StatusClosed.
func (c *Connection) Status() int { return int(c.status) }

// Transport returns "tcp", "udp", "unix" or "ssl".
func (c *Connection) Transport() string { return c.transport }

// RemoteIP returns the peer's IP address, or "" for a Unix socket.
func (c *Connection) RemoteIP() string {
	if !c.remote.IsValid() {
		return ""
	}
	return c.remote.Addr().Unmap().String()
}

// RemotePort returns the peer's port, or 0 for a Unix socket.
func (c *Connection) RemotePort() int { return int(c.remote.Port()) }

// RemoteAddress returns "ip:port" of the peer (brackets around IPv6), or the
// socket path for a Unix socket.
func (c *Connection) RemoteAddress() string {
	if !c.remote.IsValid() {
		return c.unixPath
	}
	return net.JoinHostPort(c.RemoteIP(), strconv.Itoa(c.RemotePort()))
}

// LocalIP returns the local IP address of the connection.
func (c *Connection) LocalIP() string {
	ap := c.localAddrPort()
	if !ap.IsValid() {
		return ""
	}
	return ap.Addr().Unmap().String()
}

// LocalPort returns the local port of the connection.
func (c *Connection) LocalPort() int { return int(c.localAddrPort().Port()) }

// LocalAddress returns "ip:port" of the local end.
func (c *Connection) LocalAddress() string {
	ap := c.localAddrPort()
	if !ap.IsValid() {
		return ""
	}
	return net.JoinHostPort(ap.Addr().Unmap().String(), strconv.Itoa(int(ap.Port())))
}

func (c *Connection) localAddrPort() netip.AddrPort {
	if c.fd < 0 {
		if c.ext != nil {
			return c.ext.local
		}
		return netip.AddrPort{}
	}
	sa, err := unix.Getsockname(c.fd)
	if err != nil {
		return netip.AddrPort{}
	}
	return sockaddrToAddrPort(sa)
}

// Quiet returns how long the peer has sent nothing on the connection, as
// the kernel measures it (TCP_INFO), and whether that is known: it is for
// plain TCP connections, not for TLS, Unix-socket or UDP ones. A new
// connection counts from its establishment. Protocols use it to tell an
// idle keep-alive connection from one whose next request is on its way.
func (c *Connection) Quiet() (time.Duration, bool) {
	if c.fd < 0 || c.transport != "tcp" || c.udpPeer != nil || c.bridged() != nil {
		return 0, false
	}
	return tcpQuiet(c.fd)
}

// BytesRead returns the number of bytes received on the connection.
func (c *Connection) BytesRead() int64 { return c.bytesRead }

// BytesWritten returns the number of bytes handed to the kernel.
func (c *Connection) BytesWritten() int64 { return c.bytesWritten }

// SendBufferLen returns the number of bytes waiting in the send buffer.
func (c *Connection) SendBufferLen() int { return len(c.sendBuf) - c.sendOff }

// RecvBufferLen returns the number of received bytes not yet decoded.
func (c *Connection) RecvBufferLen() int { return len(c.recvBuf) }

// BufferIsFull reports whether the send buffer has reached its limit.
//
// On io_uring a round's output waits in the buffer until the round ends,
// where epoll would have written it to the socket at once; bytes the
// socket has room for then do not count, unless a send is still in the
// kernel's hands (the peer has not read the last one). A peer that keeps
// up is thus not found full on either poller.
func (c *Connection) BufferIsFull() bool {
	if c.ring {
		return c.ringBackedUp()
	}
	return c.SendBufferLen() >= c.MaxSendBufferSize
}

// IsPaused reports whether receiving is paused.
func (c *Connection) IsPaused() bool { return c.paused }

func sockaddrToAddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}
