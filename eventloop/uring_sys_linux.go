//go:build linux && !workerman_portable

package eventloop

import (
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's io_uring ABI (include/uapi/linux/io_uring.h), the part this
// package uses. golang.org/x/sys/unix has the system call numbers only.

const (
	iouringSetupCQSize      = 1 << 3
	iouringSetupCoopTaskrun = 1 << 8
	iouringSetupTaskrunFlag = 1 << 9

	iouringFeatSingleMmap = 1 << 0
	iouringFeatNoDrop     = 1 << 1
	iouringFeatExtArg     = 1 << 8

	iouringEnterGetEvents = 1 << 0
	iouringEnterExtArg    = 1 << 3

	iouringSQNeedWakeup = 1 << 0
	iouringSQCQOverflow = 1 << 1
	iouringSQTaskrun    = 1 << 2

	iouringOffSQRing = 0
	iouringOffCQRing = 0x8000000
	iouringOffSQEs   = 0x10000000

	iouringOpPollAdd     = 6
	iouringOpPollRemove  = 7
	iouringOpAccept      = 13
	iouringOpAsyncCancel = 14
	iouringOpSend        = 26
	iouringOpRecv        = 27

	iosqeBufferSelect = 1 << 5

	iouringCQEFBuffer  = 1 << 0
	iouringCQEFMore    = 1 << 1
	iouringCQEBufShift = 16

	iouringRecvMultishot   = 1 << 1
	iouringAcceptMultishot = 1 << 0

	iouringRegisterPbufRing   = 22
	iouringUnregisterPbufRing = 23
)

type iouringSQOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type iouringCQOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type iouringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  iouringSQOffsets
	cqOff                                                                  iouringCQOffsets
}

type iouringSQE struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	opFlags     uint32
	userData    uint64
	bufGroup    uint16
	personality uint16
	fileIndex   int32
	addr3       uint64
	pad         uint64
}

type iouringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

type iouringBufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	flags       uint16
	resv        [3]uint64
}

type iouringBuf struct {
	addr uint64
	len  uint32
	bid  uint16
	resv uint16 // the ring's tail, in the first entry
}

type iouringGetEventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	minWait   uint32
	ts        uint64
}

// sysRing is one io_uring instance with its mapped rings.
type sysRing struct {
	fd       int
	features uint32
	sqMem    []byte
	cqMem    []byte
	sqeMem   []byte

	sqHead, sqTail, sqFlags *uint32
	sqMask                  uint32
	sqArray                 []uint32
	sqes                    []iouringSQE
	sqLocal                 uint32 // next tail, published to the kernel at submit

	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []iouringCQE
}

func ioUringSetup(entries uint32, p *iouringParams) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func (r *sysRing) open(entries, cqEntries uint32) error {
	var p iouringParams
	p.flags = iouringSetupCQSize | iouringSetupCoopTaskrun | iouringSetupTaskrunFlag
	p.cqEntries = cqEntries
	fd, err := ioUringSetup(entries, &p)
	if err == unix.EINVAL {
		p = iouringParams{flags: iouringSetupCQSize, cqEntries: cqEntries}
		fd, err = ioUringSetup(entries, &p)
	}
	if err != nil {
		return os.NewSyscallError("io_uring_setup", err)
	}
	r.fd = fd
	r.features = p.features
	need := uint32(iouringFeatSingleMmap | iouringFeatNoDrop | iouringFeatExtArg)
	if p.features&need != need {
		unix.Close(fd)
		return errUringFeatures
	}
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*uint32(unsafe.Sizeof(iouringCQE{})))
	if cqSize > sqSize {
		sqSize = cqSize
	}
	mem, err := unix.Mmap(fd, iouringOffSQRing, sqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		unix.Close(fd)
		return os.NewSyscallError("mmap", err)
	}
	r.sqMem, r.cqMem = mem, mem
	sqes, err := unix.Mmap(fd, iouringOffSQEs, int(p.sqEntries)*int(unsafe.Sizeof(iouringSQE{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		unix.Munmap(mem)
		unix.Close(fd)
		return os.NewSyscallError("mmap", err)
	}
	r.sqeMem = sqes
	base := unsafe.Pointer(&mem[0])
	r.sqHead = (*uint32)(unsafe.Add(base, p.sqOff.head))
	r.sqTail = (*uint32)(unsafe.Add(base, p.sqOff.tail))
	r.sqFlags = (*uint32)(unsafe.Add(base, p.sqOff.flags))
	r.sqMask = *(*uint32)(unsafe.Add(base, p.sqOff.ringMask))
	r.sqArray = unsafe.Slice((*uint32)(unsafe.Add(base, p.sqOff.array)), p.sqEntries)
	r.sqes = unsafe.Slice((*iouringSQE)(unsafe.Pointer(&sqes[0])), p.sqEntries)
	r.sqLocal = atomic.LoadUint32(r.sqTail)
	r.cqHead = (*uint32)(unsafe.Add(base, p.cqOff.head))
	r.cqTail = (*uint32)(unsafe.Add(base, p.cqOff.tail))
	r.cqMask = *(*uint32)(unsafe.Add(base, p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*iouringCQE)(unsafe.Add(base, p.cqOff.cqes)), p.cqEntries)
	return nil
}

func (r *sysRing) close() {
	unix.Munmap(r.sqeMem)
	unix.Munmap(r.sqMem)
	unix.Close(r.fd)
}

// pending is the number of prepared entries not yet handed to the kernel.
func (r *sysRing) pending() uint32 { return r.sqLocal - atomic.LoadUint32(r.sqTail) }

// getSQE returns a zeroed entry to fill and its index, submitting what is
// queued first if the ring is full.
func (r *sysRing) getSQE() (*iouringSQE, uint32) {
	for r.sqLocal-atomic.LoadUint32(r.sqHead) >= uint32(len(r.sqes)) {
		r.enter(0, 0, nil)
	}
	idx := r.sqLocal & r.sqMask
	r.sqArray[idx] = idx
	r.sqLocal++
	e := &r.sqes[idx]
	*e = iouringSQE{}
	return e, r.sqLocal - 1
}

// submitted reports whether the entry taken as number seq has been handed
// to the kernel.
func (r *sysRing) submitted(seq uint32) bool {
	return int32(seq-atomic.LoadUint32(r.sqTail)) < 0
}

// enter publishes the prepared entries and calls io_uring_enter. With
// minComplete > 0 it waits for that many completions, at most ts when ts is
// not nil.
func (r *sysRing) enter(minComplete uint32, flags uintptr, ts *unix.Timespec) (int, error) {
	atomic.StoreUint32(r.sqTail, r.sqLocal)
	toSubmit := r.sqLocal - atomic.LoadUint32(r.sqHead)
	var (
		res   uintptr
		errno unix.Errno
	)
	if minComplete == 0 {
		res, _, errno = unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), 0, flags, 0, 0)
	} else if ts == nil {
		res, _, errno = unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete), flags|iouringEnterGetEvents, 0, 0)
	} else {
		arg := iouringGetEventsArg{ts: uint64(uintptr(unsafe.Pointer(ts)))}
		res, _, errno = unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete),
			flags|iouringEnterGetEvents|iouringEnterExtArg, uintptr(unsafe.Pointer(&arg)), unsafe.Sizeof(arg))
	}
	if errno != 0 {
		return 0, errno
	}
	return int(res), nil
}

func (r *sysRing) register(op uintptr, arg unsafe.Pointer, n uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), op, uintptr(arg), n, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// bufRing is a ring of provided buffers the kernel picks from for
// multishot receives. Its memory is mapped outside the Go heap.
type bufRing struct {
	ringMem []byte
	bufMem  []byte
	ring    []iouringBuf
	local   uint16
	mask    uint16
	size    int
}

func (b *bufRing) open(r *sysRing, bgid uint16, count, size int) error {
	ringMem, err := unix.Mmap(-1, 0, count*int(unsafe.Sizeof(iouringBuf{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANONYMOUS|unix.MAP_PRIVATE)
	if err != nil {
		return os.NewSyscallError("mmap", err)
	}
	bufMem, err := unix.Mmap(-1, 0, count*size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANONYMOUS|unix.MAP_PRIVATE)
	if err != nil {
		unix.Munmap(ringMem)
		return os.NewSyscallError("mmap", err)
	}
	reg := iouringBufReg{ringAddr: uint64(uintptr(unsafe.Pointer(&ringMem[0]))), ringEntries: uint32(count), bgid: bgid}
	if err := r.register(iouringRegisterPbufRing, unsafe.Pointer(&reg), 1); err != nil {
		unix.Munmap(ringMem)
		unix.Munmap(bufMem)
		return os.NewSyscallError("io_uring_register pbuf_ring", err)
	}
	b.ringMem, b.bufMem, b.size = ringMem, bufMem, size
	b.ring = unsafe.Slice((*iouringBuf)(unsafe.Pointer(&ringMem[0])), count)
	b.mask = uint16(count - 1)
	for i := 0; i < count; i++ {
		b.put(uint16(i))
	}
	b.publish()
	return nil
}

func (b *bufRing) close() {
	unix.Munmap(b.ringMem)
	unix.Munmap(b.bufMem)
}

// buf returns buffer id's first n bytes.
func (b *bufRing) buf(id uint16, n int) []byte {
	off := int(id) * b.size
	return b.bufMem[off : off+n : off+n]
}

// put gives buffer id back to the kernel, visible after publish.
func (b *bufRing) put(id uint16) {
	e := &b.ring[b.local&b.mask]
	e.addr = uint64(uintptr(unsafe.Pointer(&b.bufMem[int(id)*b.size])))
	e.len = uint32(b.size)
	e.bid = id
	b.local++
}

// publish makes the buffers put since the last call visible to the
// kernel. The tail is a 16-bit field sharing an aligned 32-bit word with
// the first entry's buffer id, which only this side writes: one atomic
// 32-bit store of both orders the entries written before it.
func (b *bufRing) publish() {
	word := (*uint32)(unsafe.Pointer(&b.ring[0].bid))
	var v uint32
	halves := (*[2]uint16)(unsafe.Pointer(&v))
	halves[0] = b.ring[0].bid
	halves[1] = b.local
	atomic.StoreUint32(word, v)
}

func (r *sysRing) cqReady() bool {
	return atomic.LoadUint32(r.cqHead) != atomic.LoadUint32(r.cqTail)
}

func (r *sysRing) sqFlagsNow() uint32 { return atomic.LoadUint32(r.sqFlags) }
