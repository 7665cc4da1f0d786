//go:build unix && !linux

package workerman

import (
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The forms of syscalls_linux.go for macOS, the BSDs and the other Unix
// systems, which lack accept4 and the socket type flags: the descriptor is
// made close-on-exec while syscall.ForkLock is held, so a process started
// meanwhile cannot inherit it.

func newSocket(family, stype int) (int, error) {
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(family, stype, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func acceptSocket(fd int) (int, netip.AddrPort, string, error) {
	syscall.ForkLock.RLock()
	nfd, sa, err := unix.Accept(fd)
	if err == nil {
		unix.CloseOnExec(nfd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, netip.AddrPort{}, "", err
	}
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return -1, netip.AddrPort{}, "", err
	}
	if ua, ok := sa.(*unix.SockaddrUnix); ok {
		return nfd, netip.AddrPort{}, ua.Name, nil
	}
	return nfd, sockaddrToAddrPort(sa), "", nil
}

// acceptedInheritsNoDelay is false here: TCP_NODELAY is set on each
// accepted TCP socket.
const acceptedInheritsNoDelay = false

func newSocketpair(stype int) ([2]int, error) {
	syscall.ForkLock.RLock()
	fds, err := unix.Socketpair(unix.AF_UNIX, stype, 0)
	if err == nil {
		unix.CloseOnExec(fds[0])
		unix.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	return fds, err
}

// tcpQuiet is not known here: Connection.Quiet reports false.
func tcpQuiet(int) (time.Duration, bool) { return 0, false }

// unsentBytes is not known here: a lingering close waits for the peer's
// reading only.
func unsentBytes(int) int { return 0 }

func sendRoom(int) int { return 0 }
