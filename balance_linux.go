package workerman

import (
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/workerman-go/workerman/eventloop"
)

// Fair accept. The processes of a worker share one listening socket, and
// the kernel wakes the first idle process in its line of waiters for each
// new connection; whichever process is running when connections arrive
// drains the queue. Left alone, one process takes most connections while
// the others idle (measured: 90/10 at 100 connections, 4/0 at 4).
//
// So the processes of a worker publish, in a small shared memory segment
// the master creates, how many connections each holds and whether it
// accepts, and each has an eventfd its siblings can signal (a kick). A
// process accepts only while it holds no more than the least loaded of its
// accepting siblings. Past that it kicks that sibling, which then accepts
// what is waiting, and steps out of the line of waiters for balanceRest, so
// that the kernel wakes a sibling for the next connections. After it
// accepted, a process moves to the back of the line (RequeueSharedListener,
// at most once per requeueEvery), so idle processes take turns. A sibling that takes nothing for
// balanceForceAfter rests in a row (stuck in a long callback, say) does not
// hold connections back: the process then takes one whatever the counts.

// balanceSlotSize keeps each process's slot on its own cache line.
const balanceSlotSize = 64

// balanceRest is how long an over-loaded process stays out of the line.
const balanceRest = time.Millisecond

// balanceForceAfter is how many rests in a row, with connections still
// waiting, make a process take one whatever the counts.
const balanceForceAfter = 20

// balanceSlot is one process's entry in the shared segment.
type balanceSlot struct {
	pid       atomic.Int32 // the process that owns the slot now
	accepting atomic.Int32 // 1 while it accepts
	active    atomic.Int32 // its connections of the worker
}

// balanceMem is the shared segment of one worker: a slot per process id,
// and the processes' kick eventfds.
type balanceMem struct {
	mem   []byte
	kicks []int
}

// newBalanceMem creates the segment of a worker with count processes.
func newBalanceMem(count int) (*balanceMem, int, error) {
	fd, err := unix.MemfdCreate("workerman-balance", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, -1, os.NewSyscallError("memfd_create", err)
	}
	if err := unix.Ftruncate(fd, int64(count*balanceSlotSize)); err != nil {
		unix.Close(fd)
		return nil, -1, os.NewSyscallError("ftruncate", err)
	}
	b, err := mapBalanceMem(fd)
	if err != nil {
		unix.Close(fd)
		return nil, -1, err
	}
	for range count {
		k, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			for _, k := range b.kicks {
				unix.Close(k)
			}
			unix.Munmap(b.mem)
			unix.Close(fd)
			return nil, -1, os.NewSyscallError("eventfd", err)
		}
		b.kicks = append(b.kicks, k)
	}
	return b, fd, nil
}

// mapBalanceMem maps the segment behind fd.
func mapBalanceMem(fd int) (*balanceMem, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, os.NewSyscallError("fstat", err)
	}
	if st.Size < balanceSlotSize || st.Size%balanceSlotSize != 0 || st.Size > 1<<24 {
		return nil, os.NewSyscallError("mmap", unix.EINVAL)
	}
	mem, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	return &balanceMem{mem: mem}, nil
}

func (b *balanceMem) slots() int { return len(b.mem) / balanceSlotSize }

func (b *balanceMem) slot(i int) *balanceSlot {
	return (*balanceSlot)(unsafe.Pointer(&b.mem[i*balanceSlotSize]))
}

// release marks the slot of a process that exited as not accepting, unless
// a newer process owns it already.
func (b *balanceMem) release(id, pid int) {
	if id < 0 || id >= b.slots() {
		return
	}
	s := b.slot(id)
	if s.pid.Load() == int32(pid) {
		s.accepting.Store(0)
		s.active.Store(0)
	}
}

// balancer is a process's view of its worker's segment.
type balancer struct {
	mem *balanceMem
	id  int
	pid int32
}

// claim makes this process the owner of its slot.
func (b *balancer) claim() {
	s := b.mem.slot(b.id)
	s.accepting.Store(0)
	s.active.Store(0)
	s.pid.Store(b.pid)
}

// publish records this process's connection count and whether it accepts.
func (b *balancer) publish(active int, accepting bool) {
	s := b.mem.slot(b.id)
	if s.pid.Load() != b.pid {
		return // a replacement owns the slot now
	}
	s.active.Store(int32(active))
	a := int32(0)
	if accepting {
		a = 1
	}
	if s.accepting.Load() != a {
		s.accepting.Store(a)
	}
}

// lighter returns the accepting sibling holding the fewest connections, if
// it holds fewer than active; otherwise -1: this process may take one more.
func (b *balancer) lighter(active int) int {
	least, at := -1, active
	n := b.mem.slots()
	for i := 0; i < n; i++ {
		if i == b.id {
			continue
		}
		s := b.mem.slot(i)
		if a := int(s.active.Load()); s.accepting.Load() == 1 && a < at {
			least, at = i, a
		}
	}
	return least
}

var kickValue = [8]byte{1}

// kick tells sibling i that connections wait for it.
func (b *balancer) kick(i int) {
	if i >= 0 && i < len(b.mem.kicks) {
		unix.Write(b.mem.kicks[i], kickValue[:])
	}
}

// kicked runs when a sibling kicked this process: it accepts what waits.
func (w *Worker) kicked(fd int, ev eventloop.Event) {
	var buf [8]byte
	unix.Read(fd, buf[:])
	if a := w.acc; a != nil && w.accepting && w.hasFd {
		a.HandleEvent(w.fd, eventloop.Readable)
	}
}

// childFdBalance is the descriptor of the worker's segment in a worker
// process; the kick eventfds of process ids 0 to Count-1 follow it.
const childFdBalance = 7

// files returns the descriptors a process of the worker inherits.
func (b *balanceMem) files(memfd int) []uintptr {
	fs := []uintptr{uintptr(memfd)}
	for _, k := range b.kicks {
		fs = append(fs, uintptr(k))
	}
	return fs
}

// openBalancer maps the segment the master passed to worker process id,
// and watches its kick eventfd.
func openBalancer(w *Worker, id int) (*balancer, error) {
	unix.CloseOnExec(childFdBalance)
	mem, err := mapBalanceMem(childFdBalance)
	unix.Close(childFdBalance)
	if err != nil {
		return nil, err
	}
	n := mem.slots()
	for i := 0; i < n; i++ {
		unix.CloseOnExec(childFdBalance + 1 + i)
		mem.kicks = append(mem.kicks, childFdBalance+1+i)
	}
	if id >= n {
		return nil, os.NewSyscallError("balance", unix.ERANGE)
	}
	b := &balancer{mem: mem, id: id, pid: int32(os.Getpid())}
	if err := theProc().loop.AddHandler(mem.kicks[id], eventloop.Readable, eventloop.HandlerFunc(w.kicked)); err != nil {
		return nil, err
	}
	b.claim()
	return b, nil
}

// rest takes an over-loaded process out of the line of waiters for
// balanceRest. It reports false if the listener could not be set aside.
func (a *acceptor) rest(fd int) bool {
	l := theProc().loop
	if a.resting || l.RemoveHandler(fd) != nil {
		return false
	}
	a.resting = true
	a.rests++
	w := a.w
	Timer.Once(balanceRest, func() {
		a.resting = false
		if !w.accepting || !w.hasFd || w.fd != fd || l.Watched(fd) {
			return
		}
		if err := l.AddSharedListener(fd, a); err != nil {
			logger().Error("cannot watch the listening socket again", "worker", w.Name, "err", err)
			return
		}
		a.force = a.rests >= balanceForceAfter
	})
	return true
}
