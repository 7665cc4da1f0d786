//go:build linux && !workerman_portable

package eventloop

import (
	"encoding/binary"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// poller is the Linux epoll back end. The descriptor number and a
// generation counter travel in the epoll data, never a Go pointer.
type poller struct {
	epfd   int
	wakefd int
	events []unix.EpollEvent
	wbuf   [8]byte
	// ring is the io_uring back end when the loop runs on io_uring (see
	// uring_linux.go); nil for plain epoll.
	ring *uring
}

const wakeGen = 0 // generation used for the eventfd; real handlers start at 1

func (p *poller) open() error {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return os.NewSyscallError("epoll_create1", err)
	}
	wfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return os.NewSyscallError("eventfd", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wfd), Pad: wakeGen}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wfd)
		return os.NewSyscallError("epoll_ctl", err)
	}
	p.epfd, p.wakefd = epfd, wfd
	p.events = make([]unix.EpollEvent, 256)
	binary.NativeEndian.PutUint64(p.wbuf[:], 1)
	if wantUring() {
		// Without io_uring (an old kernel, a sandbox that forbids it) the
		// loop stays on epoll; Loop.Poller tells which one runs.
		p.ring, _ = openUring()
	}
	return nil
}

func (p *poller) close() {
	if p.ring != nil {
		p.ring.close()
	}
	unix.Close(p.wakefd)
	unix.Close(p.epfd)
}

func (p *poller) wake() {
	for {
		_, err := unix.Write(p.wakefd, p.wbuf[:])
		if err != unix.EINTR {
			return
		}
	}
}

func epollEvents(ev Event) uint32 {
	var e uint32
	if ev&Readable != 0 {
		e |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if ev&Writable != 0 {
		e |= unix.EPOLLOUT
	}
	return e
}

func (p *poller) add(fd int, ev Event, gen uint32, exclusive bool) error {
	e := unix.EpollEvent{Events: epollEvents(ev), Fd: int32(fd), Pad: int32(gen)}
	if exclusive {
		e.Events = unix.EPOLLIN | unix.EPOLLEXCLUSIVE
	}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &e); err != nil {
		return os.NewSyscallError("epoll_ctl add", err)
	}
	return nil
}

func (p *poller) mod(fd int, ev Event, gen uint32) error {
	if p.ring != nil && p.ring.owns(fd) {
		p.ring.setRecv(fd, ev&Readable != 0)
		return nil
	}
	e := unix.EpollEvent{Events: epollEvents(ev), Fd: int32(fd), Pad: int32(gen)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &e); err != nil {
		return os.NewSyscallError("epoll_ctl mod", err)
	}
	return nil
}

func (p *poller) del(fd int) error {
	if p.ring != nil && p.ring.owns(fd) {
		p.ring.remove(fd)
		return nil
	}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil); err != nil {
		return os.NewSyscallError("epoll_ctl del", err)
	}
	return nil
}

// delClose removes fd and closes it. An epoll registration ends with the
// close, an io_uring one does not: the ring holds its own reference.
func (p *poller) delClose(fd int) error {
	if p.ring != nil && p.ring.owns(fd) {
		p.ring.remove(fd)
	}
	if err := unix.Close(fd); err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}

// wait collects ready descriptors, blocking up to timeout milliseconds (-1
// for no limit), dispatches them, and returns how many it dispatched. On
// io_uring it collects completions, among them the epoll instance's own
// readiness, which it passes to epollWait.
//
// A zero timeout is a plain system call that never blocks, so it is made
// without telling the Go scheduler (RawSyscall6): a busy loop then polls
// without the scheduler handing its processor to another thread. Blocking
// waits go through the scheduler as usual.
func (p *poller) wait(l *Loop, timeout int) (int, error) {
	if p.ring != nil {
		return p.ring.wait(l, p, timeout)
	}
	return p.epollWait(l, timeout)
}

func (p *poller) epollWait(l *Loop, timeout int) (int, error) {
	var (
		r     uintptr
		errno unix.Errno
	)
	ev := unsafe.Pointer(&p.events[0])
	if timeout == 0 {
		r, _, errno = unix.RawSyscall6(unix.SYS_EPOLL_WAIT, uintptr(p.epfd), uintptr(ev), uintptr(len(p.events)), 0, 0, 0)
	} else {
		r, _, errno = unix.Syscall6(unix.SYS_EPOLL_WAIT, uintptr(p.epfd), uintptr(ev), uintptr(len(p.events)), uintptr(timeout), 0, 0)
	}
	if errno != 0 {
		if errno == unix.EINTR {
			return 0, nil
		}
		return 0, os.NewSyscallError("epoll_wait", errno)
	}
	n := int(r)
	for i := 0; i < n; i++ {
		e := &p.events[i]
		fd, gen := int(e.Fd), uint32(e.Pad)
		if fd == p.wakefd && gen == wakeGen {
			var buf [8]byte
			unix.Read(p.wakefd, buf[:])
			continue
		}
		var ev Event
		if e.Events&(unix.EPOLLIN|unix.EPOLLPRI|unix.EPOLLRDHUP) != 0 {
			ev |= Readable
		}
		if e.Events&unix.EPOLLOUT != 0 {
			ev |= Writable
		}
		if e.Events&(unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			ev |= Hangup | Readable
		}
		l.dispatch(fd, gen, ev)
	}
	if n == len(p.events) && n < 4096 {
		p.events = make([]unix.EpollEvent, n*2)
	}
	return n, nil
}
