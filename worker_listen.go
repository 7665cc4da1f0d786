package workerman

import (
	"fmt"
	"os"

	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/unix"
)

// Listen starts listening and accepting on the current process's loop. RunAll
// calls it for every worker; call it yourself for a worker created inside
// OnWorkerStart.
//
// In a worker process started by the master, the socket of a worker
// created in OnWorkerStart (an inner worker) is kept by the master for the
// process's slot, and the process that replaces this one (reload, or a
// restart after it died) listens on the same socket: connections keep
// being accepted across the swap. A Listen that fails during OnWorkerStart
// fails the process's start, even if OnWorkerStart goes on: start and
// reload then report the error and the running processes keep serving.
func (w *Worker) Listen() error {
	err := w.listen()
	if cp := theChild; cp != nil && cp.starting {
		cp.noteListen(w, err)
	}
	return err
}

func (w *Worker) listen() error {
	if w.epErr != nil {
		return w.epErr
	}
	if w.accepting || w.socketName == "" {
		return nil
	}
	if err := w.openSocket(); err != nil {
		return err
	}
	if err := w.startAccepting(); err != nil {
		return err
	}
	w.stopped = false
	workersMu.Lock()
	started = append(started, w)
	workersMu.Unlock()
	return nil
}

func (w *Worker) network() string {
	switch w.Transport {
	case "udp":
		return "udp"
	case "unix":
		return "unix"
	}
	if w.ep.network == "unix" {
		return "unix"
	}
	return "tcp"
}

// openSocket opens the worker's listening socket: in a worker process
// started by the master, an inner worker's socket goes through the master
// (see openInnerSocket); otherwise it is bound here.
func (w *Worker) openSocket() error {
	if w.hasFd {
		return nil
	}
	switch w.Transport {
	case "tcp", "udp", "unix", "ssl":
	default:
		return fmt.Errorf("workerman: worker %q: unknown transport %q (tcp, udp, unix or ssl)", w.socketName, w.Transport)
	}
	if w.Transport == "ssl" && w.TLSConfig == nil {
		return fmt.Errorf("workerman: worker %q: transport ssl needs TLSConfig with a certificate", w.socketName)
	}
	if !eventloop.PollsDescriptors {
		return w.openPortable()
	}
	if k := innerKeeper(w); k != nil {
		return w.openInnerSocket(k)
	}
	return w.bindSocket()
}

// bindSocket binds and listens on a new socket.
func (w *Worker) bindSocket() error {
	ep, err := w.listenEndpoint()
	if err != nil {
		return err
	}
	fd, err := listenSocket(ep, w.Backlog, w.ReusePort, &w.Socket)
	if err != nil {
		return err
	}
	w.fd, w.hasFd = fd, true
	return nil
}

// listenEndpoint returns the address the worker's socket binds to.
func (w *Worker) listenEndpoint() (endpoint, error) {
	ep := w.ep
	ep.network = w.network()
	return w.Socket.applyBindTo(ep)
}

func (w *Worker) startAccepting() error {
	if w.pl != nil {
		w.accepting = true
		w.pl.pause(false)
		return nil
	}
	l := theProc().loop
	if w.acc == nil {
		w.acc = &acceptor{w: w}
	}
	if acceptedInheritsNoDelay && w.network() == "tcp" {
		// Accepted sockets inherit the option; a listener inherited from
		// the master gets it here too.
		noDelay := 1
		if w.Socket.Nagle {
			noDelay = 0
		}
		if err := unix.SetsockoptInt(w.fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, noDelay); err != nil {
			return os.NewSyscallError("setsockopt TCP_NODELAY", err)
		}
	}
	var err error
	switch {
	case w.network() == "udp":
		err = l.AddHandler(w.fd, eventloop.Readable, udpReceiver{w})
	case w.inherited && !w.ReusePort:
		err = l.AddSharedListener(w.fd, w.acc)
		w.acc.shared = true
	default:
		err = l.AddHandler(w.fd, eventloop.Readable, w.acc)
	}
	if err != nil {
		return err
	}
	w.accepting = true
	if w.bal != nil {
		w.bal.publish(len(w.Connections), true)
	}
	return nil
}

// PauseAccept stops accepting new connections; they wait in the kernel's
// queue (or go to the worker's other processes).
func (w *Worker) PauseAccept() {
	if !w.accepting {
		return
	}
	if w.pl != nil {
		w.pl.pause(true)
	}
	l := theProc().loop
	if l.Watched(w.fd) {
		l.RemoveHandler(w.fd)
	}
	w.accepting = false
	if w.bal != nil {
		w.bal.publish(len(w.Connections), false)
	}
}

// ResumeAccept undoes PauseAccept.
func (w *Worker) ResumeAccept() error {
	if w.accepting || (!w.hasFd && w.pl == nil) {
		return nil
	}
	return w.startAccepting()
}

// Unlisten stops accepting and closes the listening socket. For an inner
// worker of a process started by the master, the master closes its copy
// too, so the address is free again.
func (w *Worker) Unlisten() {
	w.PauseAccept()
	if w.pl != nil {
		w.pl.close()
		w.pl = nil
	}
	if w.hasFd {
		if w.kept {
			w.kept = false
			if cp := theChild; cp != nil && !cp.stopping && cp.keeper != nil {
				if err := cp.keeper.release(w); err != nil {
					logger().Warn("cannot tell the master to close the socket of an inner worker", "worker", w.Name, "listen", w.socketName, "err", err)
				}
			}
		}
		unix.Close(w.fd)
		w.fd, w.hasFd = -1, false
		if w.network() == "unix" && !w.inherited {
			os.Remove(w.ep.path)
		}
	}
}
