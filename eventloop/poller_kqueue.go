//go:build (darwin || freebsd || netbsd || openbsd || dragonfly) && !workerman_portable

package eventloop

import (
	"os"

	"golang.org/x/sys/unix"
)

// poller is the kqueue back end of macOS and the BSDs.
//
// Every registered descriptor has both a read and a write filter; the
// events asked for are enabled and the others disabled, so a change of
// interest is one kevent call that needs no memory of the previous state.
// A pipe wakes the loop (EVFILT_USER is missing on OpenBSD).
//
// kqueue reports reading and writing as separate events. The generation
// of each descriptor is read when kevent returns, before any handler runs,
// so an event for a descriptor that a handler of the same round removed
// (and perhaps reused) is discarded, as with epoll.
type poller struct {
	kq      int
	wakeR   int
	wakeW   int
	events  []unix.Kevent_t
	gens    []uint32
	changes [2]unix.Kevent_t
}

func (p *poller) open() error {
	kq, err := unix.Kqueue()
	if err != nil {
		return os.NewSyscallError("kqueue", err)
	}
	unix.CloseOnExec(kq)
	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		unix.Close(kq)
		return os.NewSyscallError("pipe", err)
	}
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(kq)
			unix.Close(fds[0])
			unix.Close(fds[1])
			return os.NewSyscallError("fcntl", err)
		}
	}
	p.kq, p.wakeR, p.wakeW = kq, fds[0], fds[1]
	var ev [1]unix.Kevent_t
	unix.SetKevent(&ev[0], p.wakeR, unix.EVFILT_READ, unix.EV_ADD)
	if _, err := unix.Kevent(kq, ev[:], nil, nil); err != nil {
		p.close()
		return os.NewSyscallError("kevent", err)
	}
	p.events = make([]unix.Kevent_t, 256)
	p.gens = make([]uint32, 256)
	return nil
}

func (p *poller) close() {
	unix.Close(p.wakeR)
	unix.Close(p.wakeW)
	unix.Close(p.kq)
}

func (p *poller) wake() {
	b := [1]byte{1}
	for {
		// A full pipe (EAGAIN) already holds a pending wake-up.
		_, err := unix.Write(p.wakeW, b[:])
		if err != unix.EINTR {
			return
		}
	}
}

// change registers or updates both filters of fd in one call.
func (p *poller) change(fd int, ev Event, flags int) error {
	rf, wf := unix.EV_DISABLE, unix.EV_DISABLE
	if ev&Readable != 0 {
		rf = unix.EV_ENABLE
	}
	if ev&Writable != 0 {
		wf = unix.EV_ENABLE
	}
	unix.SetKevent(&p.changes[0], fd, unix.EVFILT_READ, flags|rf)
	unix.SetKevent(&p.changes[1], fd, unix.EVFILT_WRITE, flags|wf)
	_, err := unix.Kevent(p.kq, p.changes[:], nil, nil)
	return err
}

// add registers fd. kqueue has no exclusive wake-up: a listener shared
// with other processes wakes each of them.
func (p *poller) add(fd int, ev Event, _ uint32, exclusive bool) error {
	if exclusive {
		ev = Readable
	}
	if err := p.change(fd, ev, unix.EV_ADD); err != nil {
		return os.NewSyscallError("kevent add", err)
	}
	return nil
}

func (p *poller) mod(fd int, ev Event, _ uint32) error {
	if err := p.change(fd, ev, 0); err != nil {
		return os.NewSyscallError("kevent mod", err)
	}
	return nil
}

func (p *poller) del(fd int) error {
	unix.SetKevent(&p.changes[0], fd, unix.EVFILT_READ, unix.EV_DELETE)
	unix.SetKevent(&p.changes[1], fd, unix.EVFILT_WRITE, unix.EV_DELETE)
	if _, err := unix.Kevent(p.kq, p.changes[:], nil, nil); err != nil {
		return os.NewSyscallError("kevent delete", err)
	}
	return nil
}

// delClose removes fd and closes it.
func (p *poller) delClose(fd int) error {
	err := p.del(fd)
	if cerr := unix.Close(fd); cerr != nil && err == nil {
		err = os.NewSyscallError("close", cerr)
	}
	return err
}

// wait collects ready descriptors, blocking up to timeout milliseconds (-1
// for no limit), dispatches them, and returns how many it dispatched.
func (p *poller) wait(l *Loop, timeout int) (int, error) {
	var ts *unix.Timespec
	if timeout >= 0 {
		t := unix.NsecToTimespec(int64(timeout) * 1e6)
		ts = &t
	}
	n, err := unix.Kevent(p.kq, nil, p.events, ts)
	if err != nil {
		if err == unix.EINTR {
			return 0, nil
		}
		return 0, os.NewSyscallError("kevent", err)
	}
	for i := 0; i < n; i++ {
		fd := int(p.events[i].Ident)
		p.gens[i] = 0
		if fd >= 0 && fd < len(l.handlers) {
			p.gens[i] = l.handlers[fd].gen
		}
	}
	for i := 0; i < n; i++ {
		e := &p.events[i]
		fd := int(e.Ident)
		if fd == p.wakeR && e.Filter == unix.EVFILT_READ {
			var buf [64]byte
			for {
				if m, _ := unix.Read(p.wakeR, buf[:]); m < len(buf) {
					break
				}
			}
			continue
		}
		var ev Event
		switch e.Filter {
		case unix.EVFILT_READ:
			ev = Readable
		case unix.EVFILT_WRITE:
			ev = Writable
			if e.Flags&unix.EV_EOF != 0 {
				// Nothing more can be written: the connection is gone.
				ev |= Hangup | Readable
			}
		}
		if e.Flags&unix.EV_ERROR != 0 {
			ev |= Hangup | Readable
		}
		if ev != 0 && p.gens[i] != 0 {
			l.dispatch(fd, p.gens[i], ev)
		}
	}
	if n == len(p.events) && n < 4096 {
		p.events = make([]unix.Kevent_t, n*2)
		p.gens = make([]uint32, n*2)
	}
	return n, nil
}

// pollerName is what Loop.Poller reports.
const pollerName = "kqueue"
