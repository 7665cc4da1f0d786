package workerman

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/workerman-go/workerman/internal/unix"
)

// DefaultBacklog is the listen backlog used when Worker.Backlog is 0, as in
// Workerman; the kernel caps it at net.core.somaxconn.
const DefaultBacklog = 102400

func sockaddrOf(a netip.AddrPort) (unix.Sockaddr, int) {
	ip := a.Addr()
	if ip.Is4() {
		return &unix.SockaddrInet4{Port: int(a.Port()), Addr: ip.As4()}, unix.AF_INET
	}
	sa := &unix.SockaddrInet6{Port: int(a.Port()), Addr: ip.As16()}
	if z := ip.Zone(); z != "" {
		if ifi, err := net.InterfaceByName(z); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		}
	}
	return sa, unix.AF_INET6
}

// listenSocket creates a bound, non-blocking socket: listening for stream
// networks, ready for recvfrom for "udp". so may be nil.
func listenSocket(e endpoint, backlog int, reusePort bool, so *SocketOptions) (fd int, err error) {
	if so == nil {
		so = &SocketOptions{}
	}
	var (
		sa     unix.Sockaddr
		family int
	)
	stype := unix.SOCK_STREAM
	if e.network == "udp" {
		stype = unix.SOCK_DGRAM
	}
	if e.network == "unix" {
		family = unix.AF_UNIX
		sa = &unix.SockaddrUnix{Name: e.path}
		if err := removeStaleUnixSocket(e.path); err != nil {
			return -1, err
		}
	} else {
		ip, err := e.resolve()
		if err != nil {
			return -1, err
		}
		sa, family = sockaddrOf(netip.AddrPortFrom(ip, uint16(e.port)))
	}
	fd, err = newSocket(family, stype)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
			fd = -1
		}
	}()
	if family != unix.AF_UNIX {
		if !so.NoReuseAddr {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
				return -1, os.NewSyscallError("setsockopt SO_REUSEADDR", err)
			}
		}
		if reusePort {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
				return -1, os.NewSyscallError("setsockopt SO_REUSEPORT", err)
			}
		}
		if family == unix.AF_INET6 {
			// By default "::" listens on IPv4 too, as the manual's
			// ":::port" promises.
			v6only := 0
			if so.IPv6Only {
				v6only = 1
			}
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil && so.IPv6Only {
				return -1, os.NewSyscallError("setsockopt IPV6_V6ONLY", err)
			}
		}
		if so.Broadcast && stype == unix.SOCK_DGRAM {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
				return -1, os.NewSyscallError("setsockopt SO_BROADCAST", err)
			}
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return -1, bindError(e, err)
	}
	if stype == unix.SOCK_STREAM {
		if backlog <= 0 {
			backlog = DefaultBacklog
		}
		if err := unix.Listen(fd, backlog); err != nil {
			return -1, os.NewSyscallError("listen", err)
		}
	}
	return fd, nil
}

// bindError explains the usual start failures of the manual's 启动失败 list.
func bindError(e endpoint, err error) error {
	where := e.hostPort()
	if e.network == "unix" {
		where = e.path
	}
	var hint string
	switch {
	case errors.Is(err, unix.EADDRINUSE):
		hint = "another program, or another copy of this one, listens there: find it with `ss -lntp` and stop it, or choose another port"
	case errors.Is(err, unix.EADDRNOTAVAIL):
		hint = "the IP is not on this machine: listen on 0.0.0.0 or on one of this machine's own addresses"
	case errors.Is(err, unix.EACCES):
		hint = "ports below 1024 need root (or CAP_NET_BIND_SERVICE)"
	}
	if hint != "" {
		return fmt.Errorf("workerman: listen %s://%s: %w (%s)", e.scheme, where, os.NewSyscallError("bind", err), hint)
	}
	return fmt.Errorf("workerman: listen %s://%s: %w", e.scheme, where, os.NewSyscallError("bind", err))
}

// removeStaleUnixSocket removes a socket file nobody listens on any more.
func removeStaleUnixSocket(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("workerman: listen unix://%s: the path exists and is not a socket", path)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return fmt.Errorf("workerman: listen unix://%s: %w (another process serves this socket)", path, unix.EADDRINUSE)
	}
	return os.Remove(path)
}

func socketAddr(fd int, network string) net.Addr {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4, *unix.SockaddrInet6:
		ap := sockaddrToAddrPort(sa)
		if network == "udp" {
			return net.UDPAddrFromAddrPort(ap)
		}
		return net.TCPAddrFromAddrPort(ap)
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: a.Name, Net: "unix"}
	}
	return nil
}
