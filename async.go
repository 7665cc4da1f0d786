package workerman

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/unix"
)

// DialOptions tune an outbound connection. The zero value is ready to use.
type DialOptions struct {
	// BindTo is the local "ip:port" to connect from (the manual's
	// socket.bindto); port 0 lets the kernel choose.
	BindTo string
	// Transport is "tcp" (the default) or "ssl" (the manual's
	// $connection->transport = 'ssl'): TLS over the TCP connection, for
	// https, wss and the like.
	Transport string
	// TLSConfig configures the "ssl" transport; SSLOptions.ClientConfig
	// builds one from the manual's ssl context options. ServerName defaults
	// to the host of the address. Nil verifies the server against the
	// system's roots.
	TLSConfig *tls.Config
	// ConnectTimeout bounds DNS lookup plus connect, and then the TLS
	// handshake; 0 means 10 seconds.
	ConnectTimeout time.Duration
}

// asyncState is what an outbound connection keeps for connecting and
// reconnecting.
type asyncState struct {
	ep          endpoint
	opts        DialOptions
	timeout     int // connect timeout timer
	reconnect   int // reconnect timer
	established bool
	gen         int // bumped on every attempt, so late DNS answers are ignored
}

// secureSchemes maps a scheme that means "this protocol over TLS" to the
// protocol's own scheme.
var secureSchemes = map[string]string{"wss": "ws"}

// NewAsyncTcpConnection creates an outbound connection to an address such as
// "tcp://127.0.0.1:1234", "text://example.com:5678", "ws://host:8080/path"
// or any registered scheme; "ssl://host:443" is raw bytes over TLS, and
// "wss://host/path" is "ws://host/path" over TLS. Set its
// callbacks, then call Connect. opts may be nil.
//
// With Transport "ssl" (the manual's $con->transport = 'ssl') the TCP
// connection is followed by a TLS handshake, and OnConnect runs when that
// is done; a failed handshake (an untrusted certificate, say) is reported
// like a failed connect, through OnError with ConnectFail and then OnClose.
// A TLS connection is served by goroutines that hand everything to the
// loop, so its callbacks run on the loop like any other.
//
// Like every Connection method, Connect must run on the event loop; call it
// from OnWorkerStart or another callback.
func NewAsyncTcpConnection(address string, opts *DialOptions) (*Connection, error) {
	ep, err := parseEndpoint(address)
	if err != nil {
		return nil, err
	}
	var proto Protocol
	sslScheme := false
	switch ep.scheme {
	case "tcp", "unix":
	case "ssl", "tls":
		sslScheme = true
	case "udp":
		return nil, fmt.Errorf("workerman: %q: use NewAsyncUdpConnection for udp", address)
	default:
		name := ep.scheme
		if plain, ok := secureSchemes[name]; ok {
			// wss://host is ws://host over TLS.
			name, sslScheme = plain, true
		}
		p, ok := LookupProtocol(name)
		if !ok {
			return nil, fmt.Errorf("workerman: address %q: unknown protocol %q", address, name)
		}
		proto = p
	}
	a := &asyncState{ep: ep}
	if opts != nil {
		a.opts = *opts
	}
	switch a.opts.Transport {
	case "":
		a.opts.Transport = "tcp"
		if sslScheme {
			a.opts.Transport = "ssl"
		}
	case "tcp", "ssl":
	default:
		return nil, fmt.Errorf("workerman: unknown transport %q (tcp or ssl)", a.opts.Transport)
	}
	transport := a.opts.Transport
	if ep.network == "unix" {
		transport = "unix"
	}
	return newAsyncConnection(proto, transport, a), nil
}

// newAsyncConnection returns a new, not yet connected outbound connection
// with the next connection id and the default buffer limits.
func newAsyncConnection(proto Protocol, transport string, a *asyncState) *Connection {
	p := theProc()
	p.nextConn++
	return &Connection{
		ID:                p.nextConn,
		Protocol:          proto,
		MaxSendBufferSize: DefaultMaxSendBufferSize,
		MaxPackageSize:    DefaultMaxPackageSize,
		loop:              p.loop,
		fd:                -1,
		transport:         transport,
		ext:               &connExt{async: a},
	}
}

// URLPath returns the path part of an outbound connection's address, such
// as "/chat?x=1" for "ws://host:80/chat?x=1"; "/" when it has none.
func (c *Connection) URLPath() string {
	if c.ext == nil || c.ext.async == nil || c.ext.async.ep.path == "" {
		return "/"
	}
	return c.ext.async.ep.path
}

// RemoteHost returns the host name an outbound connection was made to, as
// written in its address.
func (c *Connection) RemoteHost() string {
	if c.ext == nil || c.ext.async == nil {
		return c.RemoteIP()
	}
	return c.ext.async.ep.host
}

// Connect starts connecting an outbound connection. The outcome arrives
// through OnConnect, or through OnError with ConnectFail followed by
// OnClose.
func (c *Connection) Connect() error {
	if c.ext == nil || c.ext.async == nil {
		return errors.New("workerman: Connect on a connection that is not outbound")
	}
	a := c.ext.async
	if c.status == StatusConnecting || c.status == StatusEstablished {
		return nil
	}
	if a.reconnect != 0 {
		Timer.Del(a.reconnect)
		a.reconnect = 0
	}
	c.status = StatusConnecting
	c.paused = false
	c.pkgLen = 0
	c.recvBuf = nil
	a.established = false
	a.gen++
	gen := a.gen
	timeout := a.opts.ConnectTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	a.timeout = Timer.Once(timeout, func() {
		a.timeout = 0
		if a.gen == gen && c.status == StatusConnecting {
			c.connectFailed(fmt.Errorf("connect to %s timed out after %v", c.target(), timeout))
		}
	})
	dial := c.dial
	if c.transport == "udp" {
		if b, ok := c.ext.bridge.(*udpBridge); !ok || b.closed {
			c.ext.bridge = &udpBridge{c: c, fd: -1}
		}
		dial = c.dialUDP
	}
	if a.ep.network == "unix" {
		dial(unix.Sockaddr(&unix.SockaddrUnix{Name: a.ep.path}), unix.AF_UNIX)
		return nil
	}
	if ip, err := netip.ParseAddr(a.ep.host); err == nil {
		sa, fam := sockaddrOf(netip.AddrPortFrom(ip.Unmap(), uint16(a.ep.port)))
		dial(sa, fam)
		return nil
	}
	// Resolve the name off the loop.
	host := a.ep.host
	Async(func() ([]netip.Addr, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}, func(ips []netip.Addr, err error) {
		if a.gen != gen || c.status != StatusConnecting {
			return
		}
		if err == nil && len(ips) == 0 {
			err = errors.New("no address")
		}
		if err != nil {
			c.connectFailed(fmt.Errorf("resolve %s: %w", host, err))
			return
		}
		ip := ips[0]
		for _, x := range ips {
			if x.Unmap().Is4() {
				ip = x
				break
			}
		}
		sa, fam := sockaddrOf(netip.AddrPortFrom(ip.Unmap(), uint16(a.ep.port)))
		dial(sa, fam)
	})
	return nil
}

func (c *Connection) target() string {
	a := c.ext.async
	if a.ep.network == "unix" {
		return "unix://" + a.ep.path
	}
	return a.ep.scheme + "://" + a.ep.hostPort()
}

// dial starts a non-blocking connect.
func (c *Connection) dial(sa unix.Sockaddr, family int) {
	a := c.ext.async
	fd, err := newSocket(family, unix.SOCK_STREAM)
	if err != nil {
		c.connectFailed(os.NewSyscallError("socket", err))
		return
	}
	if a.opts.BindTo != "" && family != unix.AF_UNIX {
		if err := bindTo(fd, a.opts.BindTo); err != nil {
			unix.Close(fd)
			c.connectFailed(err)
			return
		}
	}
	err = unix.Connect(fd, sa)
	if err != nil && err != unix.EINPROGRESS && err != unix.EINTR && err != unix.EAGAIN {
		unix.Close(fd)
		c.connectFailed(os.NewSyscallError("connect", err))
		return
	}
	c.fd = fd
	c.events = eventloop.Writable
	if err := c.loop.AddHandler(fd, eventloop.Writable, c); err != nil {
		unix.Close(fd)
		c.fd = -1
		c.connectFailed(err)
	}
}

// finishConnect runs when a connecting socket becomes writable.
func (c *Connection) finishConnect() {
	a := c.ext.async
	soerr, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && soerr != 0 {
		err = unix.Errno(soerr)
	}
	if err != nil {
		c.connectFailed(os.NewSyscallError("connect", err))
		return
	}
	if sa, err := unix.Getpeername(c.fd); err == nil {
		c.remote = sockaddrToAddrPort(sa)
	}
	if a.timeout != 0 {
		Timer.Del(a.timeout)
		a.timeout = 0
	}
	if c.transport == "tcp" {
		unix.SetsockoptInt(c.fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	if c.transport == "ssl" {
		c.startClientTLS()
		return
	}
	c.established()
}

// established switches a connection that finished connecting (and its TLS
// handshake, if any) to normal service.
func (c *Connection) established() {
	a := c.ext.async
	a.established = true
	c.status = StatusEstablished
	p := theProc()
	if p.outbound == nil {
		p.outbound = make(map[int]*Connection)
	}
	p.outbound[c.ID] = c
	if c.ext.bridge == nil {
		ev := eventloop.Readable
		if c.paused {
			ev = 0
		}
		if c.SendBufferLen() > 0 {
			ev |= eventloop.Writable
		}
		c.setEvents(ev)
	}
	if o, ok := c.Protocol.(ConnectionOpener); ok {
		o.OnConnectionOpen(c)
	}
	if c.OnConnect != nil && c.status == StatusEstablished {
		c.OnConnect(c)
	}
}

// connectFailed reports a failed attempt through OnError, then ends the
// attempt through OnClose, as Workerman does.
func (c *Connection) connectFailed(err error) {
	if c.status != StatusConnecting {
		return
	}
	c.status = StatusClosing
	if c.OnError != nil {
		c.OnError(c, ConnectFail, fmt.Sprintf("connect to %s fail: %v", c.target(), err))
	}
	if c.status == StatusClosing {
		c.destroy()
	}
}

func (a *asyncState) onDestroyed(c *Connection) {
	delete(theProc().outbound, c.ID)
	if a.timeout != 0 {
		Timer.Del(a.timeout)
		a.timeout = 0
	}
}

// Reconnect closes an outbound connection if it is open (without OnClose)
// and connects again after the delay; 0 reconnects at once. Call it from
// OnClose to keep a connection up.
func (c *Connection) Reconnect(after time.Duration) error {
	if c.ext == nil || c.ext.async == nil {
		return errors.New("workerman: Reconnect on a connection that is not outbound")
	}
	a := c.ext.async
	if c.status != StatusClosed && c.status != StatusInitial {
		if c.ext.bridge != nil {
			c.ext.bridge.close()
			c.ext.bridge = nil
		} else if c.fd >= 0 {
			if c.loop.Watched(c.fd) {
				c.loop.RemoveHandler(c.fd)
			}
			unix.Close(c.fd)
		}
		c.fd = -1
		a.gen++
		a.onDestroyed(c)
	}
	c.status = StatusInitial
	c.ext.bridge = nil
	c.sendBuf, c.sendOff = nil, 0
	if a.reconnect != 0 {
		Timer.Del(a.reconnect)
		a.reconnect = 0
	}
	if after <= 0 {
		return c.Connect()
	}
	a.reconnect = Timer.Once(after, func() {
		a.reconnect = 0
		c.Connect()
	})
	return nil
}
