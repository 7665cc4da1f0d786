package workerman

import (
	"bytes"
	"net/netip"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// System calls whose Linux form differs from the other systems'. The
// counterparts are in syscalls_unix.go, peercred_*.go and
// syscalls_windows.go (unsentBytes is in tls_linger_linux.go).

// sendRoom returns how many more bytes the socket's send buffer takes now
// (0 when it cannot tell).
func sendRoom(fd int) int {
	size, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	if err != nil {
		return 0
	}
	return max(0, size-unsentBytes(fd))
}

// newSocket creates a non-blocking, close-on-exec socket.
func newSocket(family, stype int) (int, error) {
	return unix.Socket(family, stype|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
}

// acceptSocket accepts a connection as a non-blocking, close-on-exec
// socket and returns the peer's address (IP sockets) or path (Unix
// sockets). It calls accept4 itself, decoding the address from a buffer on
// the stack: unix.Accept4 asks the listener for its protocol
// (getsockopt SO_PROTOCOL) on every IP connection, a system call more per
// connection, and allocates the address.
func acceptSocket(fd int) (int, netip.AddrPort, string, error) {
	var rsa unix.RawSockaddrAny
	n := uint32(unix.SizeofSockaddrAny)
	r, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&n)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, netip.AddrPort{}, "", e
	}
	switch rsa.Addr.Family {
	case unix.AF_INET:
		a := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		return int(r), netip.AddrPortFrom(netip.AddrFrom4(a.Addr), netPort(a.Port)), "", nil
	case unix.AF_INET6:
		a := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		return int(r), netip.AddrPortFrom(netip.AddrFrom16(a.Addr), netPort(a.Port)), "", nil
	case unix.AF_UNIX:
		a := (*unix.RawSockaddrUnix)(unsafe.Pointer(&rsa))
		return int(r), netip.AddrPort{}, unixSockaddrPath(a, int(n)), nil
	}
	return int(r), netip.AddrPort{}, "", nil
}

// netPort reads a port stored in network byte order.
func netPort(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// unixSockaddrPath returns the path of a Unix socket address of n bytes:
// "" for an unnamed socket, "@name" for one in the abstract namespace.
func unixSockaddrPath(a *unix.RawSockaddrUnix, n int) string {
	n -= int(unsafe.Offsetof(a.Path))
	if n <= 0 {
		return ""
	}
	n = min(n, len(a.Path))
	b := unsafe.Slice((*byte)(unsafe.Pointer(&a.Path[0])), n)
	if b[0] == 0 {
		return "@" + string(b[1:])
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// acceptedInheritsNoDelay is true where an accepted TCP socket inherits
// TCP_NODELAY from the listening socket, as on Linux: the option is then
// set once on the listener instead of once per connection.
const acceptedInheritsNoDelay = true

// newSocketpair creates a pair of connected close-on-exec Unix sockets.
func newSocketpair(stype int) ([2]int, error) {
	return unix.Socketpair(unix.AF_UNIX, stype|unix.SOCK_CLOEXEC, 0)
}

// tcpQuiet returns how long ago the TCP socket fd last received data.
func tcpQuiet(fd int) (time.Duration, bool) {
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return 0, false
	}
	return time.Duration(info.Last_data_recv) * time.Millisecond, true
}

// peerUID returns the user id of the process at the other end of the Unix
// socket fd.
func peerUID(fd int) (int, error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}
