package workerman

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// The master opens the listening sockets of the workers it starts, so that
// every process of a worker shares one accept queue and a process that
// exits loses nothing queued.

// openListener opens a worker's listening socket in the master, to be
// inherited by its processes. A ReusePort worker's processes each bind
// their own; the master only checks that binding works, so that a start
// fails with a clear message rather than with processes that keep dying.
func (m *master) openListener(w *Worker) error {
	if w.socketName == "" {
		return nil
	}
	if w.Transport == "ssl" && w.TLSConfig == nil {
		return fmt.Errorf("workerman: worker %q: transport ssl needs TLSConfig with a certificate", w.socketName)
	}
	if w.ReusePort {
		return probeBind(w)
	}
	return w.openSocket()
}

// probeBind binds (without listening) a SO_REUSEPORT socket like the ones
// a ReusePort worker's processes will listen on.
func probeBind(w *Worker) error {
	if w.network() == "unix" {
		return errors.New("workerman: worker " + w.socketName + ": ReusePort needs an IP address")
	}
	ip, err := w.ep.resolve()
	if err != nil {
		return err
	}
	sa, family := sockaddrOf(netip.AddrPortFrom(ip, uint16(w.ep.port)))
	stype := unix.SOCK_STREAM
	if w.network() == "udp" {
		stype = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(family, stype|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	if family == unix.AF_INET6 {
		unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0)
	}
	if err := unix.Bind(fd, sa); err != nil {
		return bindError(w.ep, err)
	}
	return nil
}
