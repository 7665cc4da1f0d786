package workerman

import (
	"errors"
	"fmt"

	"github.com/workerman-go/workerman/internal/unix"
)

// The master opens the listening sockets of the workers it starts, so that
// every process of a worker shares one accept queue and a process that
// exits loses nothing queued.

// openListener opens a worker's listening socket in the master, to be
// inherited by its processes. A ReusePort worker gets one SO_REUSEPORT
// socket per process slot (the kernel spreads connections over them), and
// the process that replaces a slot's process (reload, restart) inherits
// the slot's socket: nothing queued on it is lost either.
func (m *master) openListener(wi int, w *Worker) error {
	if w.socketName == "" {
		return nil
	}
	if w.Transport == "ssl" && w.TLSConfig == nil {
		return fmt.Errorf("workerman: worker %q: transport ssl needs TLSConfig with a certificate", w.socketName)
	}
	if !w.ReusePort {
		m.balanceFds[wi] = -1
		if err := w.openSocket(); err != nil {
			return err
		}
		if w.Count > 1 && w.network() != "udp" {
			b, fd, err := newBalanceMem(w.Count)
			if err != nil {
				return err
			}
			m.balance[wi], m.balanceFds[wi] = b, fd
		}
		return nil
	}
	if w.network() == "unix" {
		return errors.New("workerman: worker " + w.socketName + ": ReusePort needs an IP address")
	}
	ep, err := w.listenEndpoint()
	if err != nil {
		return err
	}
	for id := 0; id < w.Count; id++ {
		fd, err := listenSocket(ep, w.Backlog, true, &w.Socket)
		if err != nil {
			return err
		}
		m.slotFds[wi] = append(m.slotFds[wi], fd)
	}
	return nil
}

// listenFd returns the listening socket a process of worker wi with id
// inherits, or -1.
func (m *master) listenFd(wi, id int) int {
	w := m.ws[wi]
	if w.ReusePort {
		if id < len(m.slotFds[wi]) {
			return m.slotFds[wi][id]
		}
		return -1
	}
	if w.hasFd {
		return w.fd
	}
	return -1
}

// closeListeners closes the master's listening sockets: new clients are
// refused from then on (the processes close their copies as they stop
// accepting).
func (m *master) closeListeners() {
	for wi, w := range m.ws {
		if w.hasFd {
			unix.Close(w.fd)
			w.fd, w.hasFd = -1, false
		}
		if wi < len(m.slotFds) {
			for _, fd := range m.slotFds[wi] {
				unix.Close(fd)
			}
			m.slotFds[wi] = nil
		}
	}
}
