// Package eventloop is the single-goroutine event loop that runs every
// callback of a Workerman process: readiness of file descriptors, timers,
// signals and work posted from other goroutines.
//
// A Loop is level-triggered. Exactly one goroutine (the one that calls Run)
// executes handlers, timer callbacks and posted tasks, one at a time, so
// state touched only from callbacks needs no locking. Other goroutines hand
// work to the loop with Post; timers may be added or removed from any
// goroutine.
//
// Descriptors are watched with epoll on Linux and kqueue on macOS and the
// BSDs. Elsewhere (Windows, for example), or when built with the
// workerman_portable tag, the loop has no descriptor poller (see
// ErrNoPoller) and only runs timers, signals and posted tasks.
//
// On Linux the loop can wait with io_uring instead of epoll, when the
// environment variable named by PollerEnv asks for it at New. On io_uring,
// descriptors registered with AddCompletionHandler are served by
// completions (see CompletionHandler): the loop receives for them and sends
// what they hand to Send, in one system call per round. Everything
// registered with AddHandler behaves the same on both.
package eventloop

import (
	"errors"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Event is a set of readiness conditions of a file descriptor.
type Event uint32

const (
	// Readable means the descriptor can be read (or accepted) without blocking.
	Readable Event = 1 << iota
	// Writable means the descriptor can be written without blocking.
	Writable
	// Hangup means the connection is gone in both directions or an error is
	// pending. It is reported together with Readable, even for a descriptor
	// not watched for reading, and never needs to be asked for.
	Hangup
)

// Handler receives the readiness events of a descriptor registered with
// AddHandler.
type Handler interface {
	HandleEvent(fd int, ev Event)
}

// HandlerFunc adapts a function to the Handler interface.
type HandlerFunc func(fd int, ev Event)

// HandleEvent calls f(fd, ev).
func (f HandlerFunc) HandleEvent(fd int, ev Event) { f(fd, ev) }

// ErrClosed is returned by operations on a loop that has finished running.
var ErrClosed = errors.New("eventloop: loop closed")

// ErrNoPoller is returned by AddHandler, AddSharedListener, ModifyHandler
// and RemoveHandler where the loop has no descriptor poller: on systems
// other than Linux, macOS and the BSDs, and in programs built with the
// workerman_portable tag. Such a loop runs timers, signals and posted tasks;
// I/O is done by goroutines that post to it.
var ErrNoPoller = errors.New("eventloop: no descriptor poller on this platform")

// ReadBufferSize is the size of the read buffer each loop shares among all
// of its connections.
const ReadBufferSize = 64 << 10

// Loop is one event loop. Create it with New and run it with Run.
type Loop struct {
	p poller

	// handlers is indexed by file descriptor. gen guards against events
	// that were queued for a descriptor number since closed and reused.
	handlers []handlerSlot
	gen      uint32

	mu         sync.Mutex
	tasks      []func()
	spare      []func()
	timers     timerHeap
	timerByID  map[int]*timer
	nextTimer  int
	polling    atomic.Bool
	stopping   atomic.Bool
	running    atomic.Bool
	owner      atomic.Uintptr // the goroutine running Run (see OffLoop)
	panicH     func(v any, stack []byte)
	done       chan struct{}
	base       time.Time
	roundTime  time.Time // RoundTime's reading, valid while roundSet
	roundSet   bool
	readBuf    []byte
	sigMu      sync.Mutex
	sigCh      chan os.Signal
	sigHandler map[os.Signal]func(os.Signal)
	readied    atomic.Bool // a callback made another goroutine ready: yield before blocking
	// threadLocked mirrors whether Run holds its thread lock (tests).
	threadLocked atomic.Bool
}

type handlerSlot struct {
	h   Handler
	gen uint32
	ev  Event
}

// New creates a loop. It owns its poller's descriptors (on Linux an epoll
// instance and an eventfd) until Run returns.
func New() (*Loop, error) {
	l := &Loop{
		timerByID: make(map[int]*timer),
		done:      make(chan struct{}),
		base:      time.Now(),
		readBuf:   make([]byte, ReadBufferSize),
	}
	if err := l.p.open(); err != nil {
		return nil, err
	}
	return l, nil
}

// ReadBuffer returns the loop's shared read buffer. Handlers may read into it
// and must not keep references to it after they return.
func (l *Loop) ReadBuffer() []byte { return l.readBuf }

// Post queues f to run on the loop goroutine. It is safe to call from any
// goroutine, including the loop's own. Tasks run in the order posted.
func (l *Loop) Post(f func()) {
	l.mu.Lock()
	l.tasks = append(l.tasks, f)
	l.mu.Unlock()
	l.wake()
}

func (l *Loop) wake() {
	if l.polling.Load() {
		l.p.wake()
	}
}

// AddHandler registers fd for the given events (Readable, Writable or both).
// It must be called on the loop goroutine, or before Run.
func (l *Loop) AddHandler(fd int, ev Event, h Handler) error {
	return l.add(fd, ev, h, false)
}

// AddSharedListener registers a listening socket that other processes also
// wait on; the kernel then wakes only one of them per connection
// (EPOLLEXCLUSIVE). Such a registration can only be removed, not modified.
func (l *Loop) AddSharedListener(fd int, h Handler) error {
	return l.add(fd, Readable, h, true)
}

// RequeueSharedListener moves a listener registered with AddSharedListener
// to the back of the kernel's line of processes waiting on it. The kernel
// wakes the first idle process in that line for each new connection, always
// in the order the processes registered; a process that requeues after it
// accepted lets the next one take the next connection, so idle processes
// take turns instead of the first one taking every connection.
func (l *Loop) RequeueSharedListener(fd int) error {
	if fd < 0 || fd >= len(l.handlers) || l.handlers[fd].h == nil {
		return errors.New("eventloop: descriptor not registered")
	}
	if err := l.p.del(fd); err != nil {
		return err
	}
	return l.p.add(fd, Readable, l.handlers[fd].gen, true)
}

func (l *Loop) add(fd int, ev Event, h Handler, exclusive bool) error {
	if fd < 0 {
		return errors.New("eventloop: negative file descriptor")
	}
	gen := l.reserve(fd)
	if err := l.p.add(fd, ev, gen, exclusive); err != nil {
		return err
	}
	l.handlers[fd] = handlerSlot{h: h, gen: gen, ev: ev}
	return nil
}

// reserve makes room for fd's slot and returns a new generation for it.
func (l *Loop) reserve(fd int) uint32 {
	for fd >= len(l.handlers) {
		n := len(l.handlers)*2 + 64
		hs := make([]handlerSlot, n)
		copy(hs, l.handlers)
		l.handlers = hs
	}
	l.gen++
	if l.gen == 0 {
		l.gen = 1
	}
	return l.gen
}

// ModifyHandler changes the events fd is watched for.
func (l *Loop) ModifyHandler(fd int, ev Event) error {
	if fd < 0 || fd >= len(l.handlers) || l.handlers[fd].h == nil {
		return errors.New("eventloop: descriptor not registered")
	}
	s := &l.handlers[fd]
	if s.ev == ev {
		return nil
	}
	if err := l.p.mod(fd, ev, s.gen); err != nil {
		return err
	}
	s.ev = ev
	return nil
}

// RemoveHandler stops watching fd. Events already collected for fd in the
// current round are discarded. It does not close fd.
func (l *Loop) RemoveHandler(fd int) error {
	if fd < 0 || fd >= len(l.handlers) || l.handlers[fd].h == nil {
		return errors.New("eventloop: descriptor not registered")
	}
	l.handlers[fd] = handlerSlot{}
	return l.p.del(fd)
}

// RemoveAndClose stops watching fd and closes it. Closing a descriptor
// ends its epoll registration by itself when no other descriptor refers to
// the same file, so on epoll this makes one system call instead of the two
// of RemoveHandler and close. A registration that a copy of the descriptor
// keeps alive (a process forked meanwhile, until it executes its program)
// only reports events that the loop discards.
func (l *Loop) RemoveAndClose(fd int) error {
	if fd < 0 || fd >= len(l.handlers) || l.handlers[fd].h == nil {
		return errors.New("eventloop: descriptor not registered")
	}
	l.handlers[fd] = handlerSlot{}
	return l.p.delClose(fd)
}

// Watched reports whether fd is registered.
func (l *Loop) Watched(fd int) bool {
	return fd >= 0 && fd < len(l.handlers) && l.handlers[fd].h != nil
}

func (l *Loop) dispatch(fd int, gen uint32, ev Event) {
	if fd < 0 || fd >= len(l.handlers) {
		return
	}
	s := l.handlers[fd]
	if s.h == nil || s.gen != gen {
		return
	}
	if l.panicH != nil {
		defer l.catch()
	}
	s.h.HandleEvent(fd, ev)
}

// OnSignal runs fn on the loop whenever the process receives sig. A later
// call for the same signal replaces the handler; a nil fn removes it.
func (l *Loop) OnSignal(sig os.Signal, fn func(os.Signal)) {
	l.sigMu.Lock()
	defer l.sigMu.Unlock()
	if l.sigHandler == nil {
		l.sigHandler = make(map[os.Signal]func(os.Signal))
		l.sigCh = make(chan os.Signal, 16)
		go l.forwardSignals()
	}
	if fn == nil {
		delete(l.sigHandler, sig)
		signal.Reset(sig)
		return
	}
	l.sigHandler[sig] = fn
	signal.Notify(l.sigCh, sig)
}

func (l *Loop) forwardSignals() {
	for {
		select {
		case s := <-l.sigCh:
			l.Post(func() {
				l.sigMu.Lock()
				fn := l.sigHandler[s]
				l.sigMu.Unlock()
				if fn != nil {
					fn(s)
				}
			})
		case <-l.done:
			return
		}
	}
}

// Now returns the loop's monotonic clock reading.
func (l *Loop) now() int64 { return int64(time.Since(l.base)) }

// RoundTime returns a clock that advances once per round of the loop: the
// first call in a round reads the time, and the rest of the round gets the
// same reading. Time stamps that many handlers of one round take (the
// arrival of each request in a batch) thus cost one clock read per round.
// Call it on the loop.
func (l *Loop) RoundTime() time.Time {
	if !l.roundSet {
		l.roundTime, l.roundSet = time.Now(), true
	}
	return l.roundTime
}

// sparseRounds is how many rounds in a row that found at most one
// descriptor ready make a loop with one processor give up its thread lock
// (see Run).
const sparseRounds = 8

// Run runs the loop on the calling goroutine until Stop is called. It
// returns ErrClosed if the loop already ran.
//
// Where PollsDescriptors is true, Run locks the calling goroutine to its
// OS thread (runtime.LockOSThread) until it returns, with one processor
// only while the loop is busy (below). Callbacks then run on that thread;
// a callback that blocks on a channel or a mutex costs a hand-over to
// another thread and back, one more reason never to block on the loop. For the same reason a locked loop yields its processor to
// other goroutines before it blocks in its wait only after a round that
// found several descriptors ready, or when a callback called Readied.
//
// With one processor (GOMAXPROCS=1, as in RunAll's worker processes when
// Count matches the CPUs) the lock is kept only while the loop is busy:
// after several rounds in a row that found at most one descriptor ready,
// the loop gives it up until a round finds more, so callbacks of sparse
// traffic may run on another thread than those before. A callback that
// needs one thread for its own reasons locks it itself.
func (l *Loop) Run() error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("eventloop: Run called twice")
	}
	select {
	case <-l.done:
		return ErrClosed
	default:
	}
	defer l.close()
	if PollsDescriptors {
		// The loop blocks in its own system call (epoll_wait, kevent,
		// io_uring_enter) whenever it runs out of work. An unlocked
		// goroutine comes back from such a wait on whichever thread the
		// scheduler finds; locked, it keeps its thread, and the
		// scheduler's hand-offs of the processor around the wait cost
		// no move to another thread. On two cores shared with the load
		// (Count=2, HTTP keep-alive) that is about a fifth less CPU per
		// request (bench/http/README.md).
		//
		// With one processor, that holds only under load. When traffic is
		// sparse, the processor is taken from nearly every wait, and a
		// locked loop then waits for it to be handed back to its own
		// thread: two thread wake-ups per wait. Unlocked, it goes on
		// with whichever thread holds the processor, and yields to other
		// goroutines at no cost. With Count=2 on two cores that took a
		// fifth to a third less CPU per message in TCP echo with one
		// connection, and 1.6 times the HTTP requests per CPU-second
		// with two, with no change at 100 connections (bench/README.md,
		// bench/http/README.md).
		runtime.LockOSThread()
	}
	locked := PollsDescriptors
	unlockWhenSparse := PollsDescriptors && runtime.GOMAXPROCS(0) == 1
	defer func() {
		if locked {
			runtime.UnlockOSThread()
		}
	}()
	l.threadLocked.Store(locked)
	// Rounds in a row that found at most one descriptor ready, up to
	// sparseRounds.
	sparse := 0
	// keepLock holds the thread lock of a loop with one processor while it
	// is busy, and gives it up after sparseRounds sparse rounds.
	keepLock := func(busy bool) {
		if busy {
			sparse = 0
		} else if sparse < sparseRounds {
			sparse++
		}
		if on := sparse < sparseRounds; on != locked {
			if on {
				runtime.LockOSThread()
			} else {
				runtime.UnlockOSThread()
			}
			locked = on
			l.threadLocked.Store(on)
		}
	}
	l.owner.Store(curg())
	defer l.owner.Store(0) // before close: once Done, nobody is off the loop
	// Descriptors the last round with work found ready; 0 once a blocking
	// wait found none.
	ready := 0
	for !l.stopping.Load() {
		if ready > 0 {
			// The last round had work: look again without blocking, as
			// more has usually arrived meanwhile. Only when nothing is ready
			// does the loop block. This keeps a busy loop from entering a
			// blocking system call per round, which costs a hand-off of
			// its processor inside the Go scheduler.
			l.roundSet = false
			n, err := l.p.wait(l, 0)
			if err != nil {
				return err
			}
			if n > 0 {
				ready = n
				if unlockWhenSparse {
					keepLock(true)
				}
				l.runTimers()
				l.runTasks()
				continue
			}
		}
		if unlockWhenSparse {
			keepLock(ready >= 2)
		}
		if readied := l.readied.Swap(false); readied || ready >= 2 || ready > 0 && !locked {
			// Let the goroutines waiting for this processor run
			// before blocking. A locked loop does so only while
			// several descriptors are ready at once: the scheduler
			// then hands its processor to another thread and back,
			// two thread wake-ups, which under load pay for
			// themselves (the loop's thread sleeps for a moment,
			// the peers sharing its core run, and the wait that
			// follows blocks less: HTTP keep-alive at 100
			// connections, Count=2, costs a fifth more CPU per
			// request without it). With one peer in ping-pong, or
			// sparse traffic, they buy nothing: 44 % of the loop's
			// CPU time over TLS in one process, half of a RunAll
			// worker process's in plain echo.
			//
			// Not yielding holds up no goroutine for long: one that
			// the round made ready (a handshake started, a channel
			// sent to) starts at once on another processor, and
			// with GOMAXPROCS=1 (RunAll's worker processes when
			// Count matches the CPUs) entering the blocking wait
			// wakes the scheduler's monitor, which takes the
			// processor from the wait for it within its tick (25-50
			// µs to start one either way, after an idle spell too).
			// Where a callback says it readied one (Readied), the
			// loop yields all the same. An unlocked loop (one
			// processor, sparse traffic) yields after every round with
			// work: it keeps its thread for the goroutine it yields to.
			runtime.Gosched()
		}
		l.polling.Store(true)
		timeout := l.nextTimeout()
		if l.hasTasks() {
			timeout = 0
		}
		l.roundSet = false
		n, err := l.p.wait(l, timeout)
		l.polling.Store(false)
		if err != nil {
			return err
		}
		ready = n
		l.runTimers()
		l.runTasks()
	}
	// Drain tasks posted before Stop so their callers are not left waiting.
	l.runTasks()
	return nil
}

// Readied tells the loop that the running callback made another goroutine
// ready to run: started one, or woke one waiting on a channel, a condition
// or a mutex. The loop then lets it run before it next blocks in its wait.
// Without it, a loop locked to its thread skips that yield when few
// descriptors were ready (it costs two thread wake-ups), and with one
// processor (GOMAXPROCS=1) the goroutine starts only when the scheduler's
// monitor takes the processor from the blocked wait, tens of microseconds
// later. It is safe to call from any goroutine.
func (l *Loop) Readied() { l.readied.Store(true) }

// Stop makes Run return after the current round. It is safe to call from
// any goroutine.
func (l *Loop) Stop() {
	l.stopping.Store(true)
	l.p.wake()
}

// Done is closed when Run has returned.
func (l *Loop) Done() <-chan struct{} { return l.done }

func (l *Loop) close() {
	l.sigMu.Lock()
	if l.sigCh != nil {
		signal.Stop(l.sigCh)
	}
	l.sigMu.Unlock()
	l.p.close()
	close(l.done)
}

func (l *Loop) hasTasks() bool {
	l.mu.Lock()
	n := len(l.tasks)
	l.mu.Unlock()
	return n > 0
}

func (l *Loop) runTasks() {
	l.mu.Lock()
	tasks := l.tasks
	l.tasks = l.spare[:0]
	l.mu.Unlock()
	for i, f := range tasks {
		tasks[i] = nil
		if l.panicH != nil {
			l.call(f)
		} else {
			f()
		}
	}
	l.mu.Lock()
	l.spare = tasks[:0]
	l.mu.Unlock()
}
