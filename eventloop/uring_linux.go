//go:build linux && !workerman_portable

package eventloop

import (
	"errors"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The io_uring back end. Connections registered with AddCompletionHandler
// receive with one multishot recv each, into buffers the kernel picks from
// a provided-buffer ring, and send with send entries that the loop hands to
// the kernel together, once per round, in the same io_uring_enter that
// waits for completions. Every other descriptor (listening sockets, the
// wake-up eventfd, outbound connections, whatever users watch) stays on the
// epoll instance, whose own descriptor the ring polls: readiness handlers
// work unchanged.

const (
	ringEntries   = 1024
	ringCQEntries = 8192
	ringBufCount  = 256      // provided buffers, a power of two
	ringBufSize   = 16 << 10 // bytes per provided buffer
	ringBufGroup  = 0
)

// Operations, in bits 56-59 of an entry's user data; bits 0-31 carry the
// descriptor, 32-55 the low 24 bits of its registration's generation and
// 60-63 an arming counter that tells a cancelled request from its successor.
const (
	opEpoll = iota + 1
	opRecv
	opSend
	opHup
	opCancel
)

var errUringFeatures = errors.New("eventloop: io_uring lacks a needed feature (single mmap, no-drop, extended wait arguments)")

func userData(op int, fd int, gen uint32, epoch uint8) uint64 {
	return uint64(uint32(fd)) | uint64(gen&0xFFFFFF)<<32 | uint64(op)<<56 | uint64(epoch&0xF)<<60
}

// ringConn is the state of one descriptor served by completions.
type ringConn struct {
	h         CompletionHandler
	gen       uint32 // low 24 bits of the registration's generation
	recvOn    bool   // the owner wants input
	recvArmed bool   // a multishot recv is in flight
	hupArmed  bool   // a hang-up poll is in flight (while not receiving)
	recvEpoch uint8
	hupEpoch  uint8
	recvSeq   uint32 // submission numbers of the latest entries, to
	hupSeq    uint32 // neutralise entries not yet handed to the kernel
	sendSeq   uint32
	send      []byte // the bytes of the send in flight, kept alive for the kernel
}

type orphan struct {
	ud  uint64
	buf []byte
}

type uring struct {
	sys        sysRing
	bufs       bufRing
	conns      []ringConn
	epollArmed bool
	// orphans keeps the bytes of sends still in flight for descriptors
	// already removed, until their completions arrive.
	orphans []orphan
	ts      unix.Timespec
}

func openUring() (*uring, error) {
	r := &uring{}
	if err := r.sys.open(ringEntries, ringCQEntries); err != nil {
		return nil, err
	}
	if err := r.bufs.open(&r.sys, ringBufGroup, ringBufCount, ringBufSize); err != nil {
		r.sys.close()
		return nil, err
	}
	return r, nil
}

func (r *uring) close() {
	r.bufs.close()
	r.sys.close()
}

func (r *uring) owns(fd int) bool { return fd < len(r.conns) && r.conns[fd].h != nil }

func (r *uring) conn(fd int, gen uint32) *ringConn {
	if fd < 0 || fd >= len(r.conns) {
		return nil
	}
	c := &r.conns[fd]
	if c.h == nil || c.gen != gen {
		return nil
	}
	return c
}

func (r *uring) add(fd int, gen uint32, h CompletionHandler) {
	for fd >= len(r.conns) {
		cs := make([]ringConn, len(r.conns)*2+64)
		copy(cs, r.conns)
		r.conns = cs
	}
	r.conns[fd] = ringConn{h: h, gen: gen & 0xFFFFFF, recvOn: true}
	r.armRecv(fd, &r.conns[fd])
}

func (r *uring) armRecv(fd int, c *ringConn) {
	c.recvEpoch++
	e, seq := r.sys.getSQE()
	e.opcode = iouringOpRecv
	e.fd = int32(fd)
	e.flags = iosqeBufferSelect
	e.ioprio = iouringRecvMultishot
	e.bufGroup = ringBufGroup
	e.userData = userData(opRecv, fd, c.gen, c.recvEpoch)
	c.recvArmed, c.recvSeq = true, seq
}

// armHup watches a descriptor that is not receiving for a reset or error,
// as epoll reports them for a descriptor watched for nothing.
func (r *uring) armHup(fd int, c *ringConn) {
	c.hupEpoch++
	e, seq := r.sys.getSQE()
	e.opcode = iouringOpPollAdd
	e.fd = int32(fd)
	e.opFlags = pollMask(unix.POLLERR | unix.POLLHUP)
	e.userData = userData(opHup, fd, c.gen, c.hupEpoch)
	c.hupArmed, c.hupSeq = true, seq
}

// cancel withdraws the request with user data ud. One not yet handed to
// the kernel becomes a no-op whose completion means nothing; cancel then
// reports false: the kernel never saw the request.
func (r *uring) cancel(ud uint64, seq uint32) bool {
	if !r.sys.submitted(seq) {
		e := &r.sys.sqes[seq&r.sys.sqMask]
		if e.userData == ud {
			*e = iouringSQE{userData: userData(opCancel, 0, 0, 0)} // IORING_OP_NOP
			return false
		}
	}
	e, _ := r.sys.getSQE()
	e.opcode = iouringOpAsyncCancel
	e.fd = -1
	e.addr = ud
	e.userData = userData(opCancel, 0, 0, 0)
	return true
}

func pollMask(m uint32) uint32 {
	// The kernel reads poll32_events in native order; on big-endian
	// machines the two halves of the word are swapped.
	if nativeBigEndian {
		return m<<16 | m>>16
	}
	return m
}

var nativeBigEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 0
}()

// setRecv starts or stops receiving on fd.
func (r *uring) setRecv(fd int, on bool) {
	c := &r.conns[fd]
	c.recvOn = on
	if on {
		if c.hupArmed {
			r.cancel(userData(opHup, fd, c.gen, c.hupEpoch), c.hupSeq)
			c.hupArmed = false
		}
		if !c.recvArmed {
			r.armRecv(fd, c)
		}
		return
	}
	if c.recvArmed {
		r.cancel(userData(opRecv, fd, c.gen, c.recvEpoch), c.recvSeq)
		c.recvArmed = false
	}
	if !c.hupArmed {
		r.armHup(fd, c)
	}
}

// send starts sending b on fd, or extends the send prepared this round
// (b then starts where that send's bytes start). It reports false when a
// send handed to the kernel is still in flight.
func (r *uring) send(fd int, b []byte) bool {
	c := &r.conns[fd]
	if c.send != nil {
		if r.sys.submitted(c.sendSeq) {
			return false
		}
		e := &r.sys.sqes[c.sendSeq&r.sys.sqMask]
		e.addr = uint64(uintptr(unsafe.Pointer(&b[0])))
		e.len = uint32(len(b))
		c.send = b
		return true
	}
	e, seq := r.sys.getSQE()
	e.opcode = iouringOpSend
	e.fd = int32(fd)
	e.addr = uint64(uintptr(unsafe.Pointer(&b[0])))
	e.len = uint32(len(b))
	e.opFlags = unix.MSG_NOSIGNAL | unix.MSG_WAITALL
	e.userData = userData(opSend, fd, c.gen, 0)
	c.send, c.sendSeq = b, seq
	return true
}

// inFlight reports whether fd's send was submitted and its completion has
// not reached the completion queue.
func (r *uring) inFlight(fd int) bool {
	c := &r.conns[fd]
	if c.send == nil || !r.sys.submitted(c.sendSeq) {
		return false
	}
	ud := userData(opSend, fd, c.gen, 0)
	tail := atomic.LoadUint32(r.sys.cqTail)
	for h := atomic.LoadUint32(r.sys.cqHead); h != tail; h++ {
		if r.sys.cqes[h&r.sys.cqMask].userData == ud {
			return false
		}
	}
	return true
}

func (r *uring) remove(fd int) {
	c := &r.conns[fd]
	if c.recvArmed {
		r.cancel(userData(opRecv, fd, c.gen, c.recvEpoch), c.recvSeq)
	}
	if c.hupArmed {
		r.cancel(userData(opHup, fd, c.gen, c.hupEpoch), c.hupSeq)
	}
	if c.send != nil {
		ud := userData(opSend, fd, c.gen, 0)
		if r.cancel(ud, c.sendSeq) {
			r.orphans = append(r.orphans, orphan{ud: ud, buf: c.send})
		}
	}
	*c = ringConn{}
}

// wait hands the prepared entries to the kernel, waits up to timeout
// milliseconds (-1: no limit, 0: not at all) for completions and
// dispatches them. It returns how many it dispatched.
func (r *uring) wait(l *Loop, p *poller, timeout int) (int, error) {
	if !r.epollArmed {
		e, _ := r.sys.getSQE()
		e.opcode = iouringOpPollAdd
		e.fd = int32(p.epfd)
		e.opFlags = pollMask(unix.POLLIN)
		e.userData = userData(opEpoll, p.epfd, 0, 0)
		r.epollArmed = true
	}
	ready := r.sys.cqReady()
	var err error
	switch {
	case timeout == 0 || ready:
		// Submit, and collect what the kernel holds back as deferred work.
		if r.sys.pending() > 0 || r.sys.sqFlagsNow()&(iouringSQTaskrun|iouringSQCQOverflow) != 0 {
			_, err = r.sys.enter(0, iouringEnterGetEvents, nil)
		}
	case timeout < 0:
		_, err = r.sys.enter(1, 0, nil)
	default:
		r.ts = unix.NsecToTimespec(int64(timeout) * 1e6)
		_, err = r.sys.enter(1, 0, &r.ts)
	}
	if err != nil && err != unix.EINTR && err != unix.ETIME && err != unix.EBUSY && err != unix.EAGAIN {
		return 0, os.NewSyscallError("io_uring_enter", err)
	}
	return r.reap(l, p), nil
}

func (r *uring) reap(l *Loop, p *poller) int {
	n := 0
	head := atomic.LoadUint32(r.sys.cqHead)
	for head != atomic.LoadUint32(r.sys.cqTail) {
		cqe := r.sys.cqes[head&r.sys.cqMask]
		head++
		atomic.StoreUint32(r.sys.cqHead, head)
		n++
		r.complete(l, p, cqe)
	}
	r.bufs.publish()
	return n
}

func (r *uring) complete(l *Loop, p *poller, cqe iouringCQE) {
	ud := cqe.userData
	fd := int(uint32(ud))
	gen := uint32(ud>>32) & 0xFFFFFF
	epoch := uint8(ud>>60) & 0xF
	switch int(ud>>56) & 0xF {
	case opEpoll:
		r.epollArmed = false
		p.epollWait(l, 0)
	case opRecv:
		hasBuf := cqe.flags&iouringCQEFBuffer != 0
		bid := uint16(cqe.flags >> iouringCQEBufShift)
		c := r.conn(fd, gen)
		if c != nil {
			if cqe.flags&iouringCQEFMore == 0 && epoch == c.recvEpoch&0xF {
				c.recvArmed = false
			}
			switch {
			case cqe.res > 0 && hasBuf:
				c.h.HandleRecv(fd, r.bufs.buf(bid, int(cqe.res)), nil)
			case cqe.res == 0:
				c.h.HandleRecv(fd, nil, nil)
			case cqe.res == -int32(unix.ENOBUFS) || cqe.res == -int32(unix.ECANCELED):
			default:
				c.h.HandleRecv(fd, nil, unix.Errno(-cqe.res))
			}
			// The handler may have closed the descriptor, stopped
			// receiving, or a reused number may have been registered anew.
			rearm := cqe.res > 0 || cqe.res == -int32(unix.ENOBUFS)
			if c := r.conn(fd, gen); rearm && c != nil && c.recvOn && !c.recvArmed {
				r.armRecv(fd, c)
			}
		}
		if hasBuf {
			r.bufs.put(bid)
		}
	case opSend:
		c := r.conn(fd, gen)
		if c == nil || c.send == nil {
			for i := range r.orphans {
				if r.orphans[i].ud == ud {
					last := len(r.orphans) - 1
					r.orphans[i] = r.orphans[last]
					r.orphans[last] = orphan{}
					r.orphans = r.orphans[:last]
					break
				}
			}
			return
		}
		c.send = nil
		if cqe.res < 0 {
			c.h.HandleSent(fd, 0, unix.Errno(-cqe.res))
		} else {
			c.h.HandleSent(fd, int(cqe.res), nil)
		}
	case opHup:
		c := r.conn(fd, gen)
		if c == nil || epoch != c.hupEpoch&0xF || !c.hupArmed {
			return
		}
		c.hupArmed = false
		if cqe.res > 0 && uint32(cqe.res)&(unix.POLLHUP|unix.POLLERR) != 0 {
			c.h.HandleEvent(fd, Hangup|Readable)
		}
	}
}
