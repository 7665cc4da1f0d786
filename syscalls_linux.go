package workerman

import (
	"time"

	"golang.org/x/sys/unix"
)

// System calls whose Linux form differs from the other systems'. The
// counterparts are in syscalls_unix.go, peercred_*.go and
// syscalls_windows.go (unsentBytes is in tls_linger_linux.go).

// newSocket creates a non-blocking, close-on-exec socket.
func newSocket(family, stype int) (int, error) {
	return unix.Socket(family, stype|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
}

// acceptSocket accepts a connection as a non-blocking, close-on-exec socket.
func acceptSocket(fd int) (int, unix.Sockaddr, error) {
	return unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
}

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
