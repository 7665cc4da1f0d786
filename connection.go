package workerman

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
	"unsafe"

	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/counters"
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
	deferSend bool // inside a pipelined batch: queue sends, flush once
	ring      bool // served by completions (io_uring): see connection_completion.go
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
func (c *Connection) BufferIsFull() bool { return c.SendBufferLen() >= c.MaxSendBufferSize }

// IsPaused reports whether receiving is paused.
func (c *Connection) IsPaused() bool { return c.paused }

// Send encodes data with the connection's protocol (or sends it as raw bytes
// when there is none; data is then a []byte or a string) and writes it.
//
// As in Workerman: when the send buffer is empty, Send writes straight to
// the socket and returns SendOK if the kernel took everything; what is left
// is queued (SendQueued). A send that makes the buffer reach
// MaxSendBufferSize is still queued and fires OnBufferFull; a send while the
// buffer is already full is dropped, fires OnError with SendFail and counts
// as a send failure (SendFailed). Sending on a closing or closed connection
// returns SendFailed. Data the protocol cannot encode (a map sent on an
// HTTP connection, say) is not sent either: Send returns SendFailed and
// OnError gets SendFail with the protocol's reason.
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
		if c.BufferIsFull() {
			c.sendFailed("send buffer full and drop package")
			return SendFailed
		}
		c.sendBuf = append(c.sendBuf, b...)
		c.checkBufferWillFull()
		return SendQueued
	}
	if c.ring {
		return c.ringWrite(b)
	}
	if c.SendBufferLen() == 0 {
		if c.deferSend {
			c.sendBuf = append(c.sendBuf[:0], b...)
			c.sendOff = 0
			return SendQueued
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
		c.sendBuf = append(c.sendBuf[:0], b[n:]...)
		c.sendOff = 0
		c.setWritable(true)
		c.checkBufferWillFull()
		return SendQueued
	}
	if c.BufferIsFull() {
		c.sendFailed("send buffer full and drop package")
		return SendFailed
	}
	c.sendBuf = append(c.sendBuf, b...)
	c.checkBufferWillFull()
	return SendQueued
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
	n, err := unix.Write(c.fd, c.sendBuf[c.sendOff:])
	if n > 0 {
		c.sendOff += n
		c.bytesWritten += int64(n)
	}
	if err != nil && err != unix.EAGAIN && err != unix.EINTR {
		c.sendFailed("client closed")
		c.closeWhy = counters.CloseError
		c.destroy()
		return
	}
	if c.SendBufferLen() > 0 {
		c.setWritable(true)
		return
	}
	if cap(c.sendBuf) > 64<<10 {
		c.sendBuf = nil
	} else {
		c.sendBuf = c.sendBuf[:0]
	}
	c.sendOff = 0
	c.setWritable(false)
	if c.OnBufferDrain != nil {
		c.OnBufferDrain(c)
	}
	if c.status == StatusClosing {
		c.finishClose()
	}
}

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

// process decodes and dispatches the packages in data. inRecv says data is
// c.recvBuf rather than the loop's shared read buffer.
func (c *Connection) process(data []byte, inRecv bool) {
	ps := theProc()
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
		c.deferSend = len(data) > 0
		if c.OnMessage != nil {
			c.OnMessage(c, msg)
		}
		c.unboxBytes()
		c.deferSend = false
	}
	if c.status == StatusClosed {
		return
	}
	// Flush what a pipelined batch queued. A bridged connection's writer
	// goroutine empties its buffer by itself.
	if c.SendBufferLen() > 0 && c.events&eventloop.Writable == 0 && c.bridged() == nil && !c.ring {
		c.flush()
		if c.status == StatusClosed {
			return
		}
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
			c.loop.RemoveHandler(c.fd)
		}
		unix.Close(c.fd)
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

// Pipe forwards everything received on c to dst, with flow control: when
// dst's send buffer fills, c stops reading until dst drains. When c closes,
// dst is closed after its buffer is flushed.
func (c *Connection) Pipe(dst *Connection) {
	c.checkLoop("Pipe")
	c.OnMessage = func(_ *Connection, data any) {
		dst.Send(data)
	}
	c.OnClose = func(*Connection) { dst.Close() }
	dst.OnBufferFull = func(*Connection) { c.PauseRecv() }
	dst.OnBufferDrain = func(*Connection) { c.ResumeRecv() }
}

func sockaddrToAddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}
