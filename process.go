package workerman

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/workerman-go/workerman/eventloop"
)

// Errors reported by the framework.
var (
	// ErrPackageTooLarge closes a connection whose package is longer than its
	// MaxPackageSize.
	ErrPackageTooLarge = errors.New("workerman: package larger than MaxPackageSize")
	// ErrCloseAfterSend may be returned by Protocol.Encode together with the
	// encoded bytes: Send writes them and then closes the connection once
	// they are flushed (an HTTP response with "Connection: close", a
	// WebSocket close frame).
	ErrCloseAfterSend = errors.New("workerman: close after send")
)

// Stats are the figures of one process that the status command shows.
type Stats struct {
	// Connections is the number of open client connections.
	Connections int64
	// TotalRequest counts packages delivered to OnMessage.
	TotalRequest int64
	// SendFail counts sends dropped because a send buffer was full or the
	// peer had gone.
	SendFail int64
	// Timers is the number of live timers.
	Timers int
	// Panics counts panics in callbacks that were recovered (see
	// CrashOnPanic).
	Panics int64
}

// procState is the per-process state shared by all workers of the process.
// Everything in it is touched on the loop goroutine only.
type procState struct {
	loop      *eventloop.Loop
	stats     Stats
	nextConn  int
	encodeBuf []byte
	// batching is set while a message that has more input behind it is
	// handled; pending lists the connections whose output waits for the
	// end of that batch (batch.go).
	batching bool
	pending  []*Connection
	// outbound holds the established outbound connections, for the
	// connections command.
	outbound map[int]*Connection
}

var (
	procOnce sync.Once
	proc     *procState
	procErr  error
	logPtr   atomic.Pointer[slog.Logger]
)

func theProc() *procState {
	procOnce.Do(func() {
		l, err := eventloop.New()
		if err != nil {
			procErr = err
			return
		}
		proc = &procState{loop: l, encodeBuf: make([]byte, 0, 4096)}
	})
	if procErr != nil {
		panic("workerman: cannot create the event loop: " + procErr.Error())
	}
	return proc
}

// EventLoop returns the process's event loop, Workerman's
// Worker::$globalEvent: use it to watch your own file descriptors or
// signals on the same goroutine as every other callback.
func EventLoop() *eventloop.Loop { return theProc().loop }

// ProcessStats returns the figures of the calling process. Call it on the
// loop (in a callback) for consistent figures.
func ProcessStats() Stats {
	p := theProc()
	s := p.stats
	s.Timers = p.loop.TimerCount()
	return s
}

// SetLogger sets the logger of the framework's own messages. The default is
// slog.Default().
func SetLogger(l *slog.Logger) { logPtr.Store(l) }

func logger() *slog.Logger {
	if l := logPtr.Load(); l != nil {
		return l
	}
	return slog.Default()
}

// Post runs f on the process's event loop. It is safe to call from any
// goroutine; use it to hand results of your own goroutines back to the
// callbacks' world.
func Post(f func()) { theProc().loop.Post(f) }

// loopClaimed is set once something has taken charge of running the
// process's loop: RunAll in a worker process or in SingleProcess mode, or
// StartLoop.
var loopClaimed atomic.Bool

// claimLoop reports whether the caller is the first to take charge of
// running the process's loop.
func claimLoop() bool { return loopClaimed.CompareAndSwap(false, true) }

// StartLoop runs the process's event loop on a new goroutine, for a plain
// Go program that uses outbound connections or the component clients
// (channel, globaldata, push) without RunAll: a cron job, an admin tool,
// a test. Callbacks then run on that goroutine, one at a time, as in a
// worker process. StartLoop does nothing in a process whose loop RunAll
// runs (a worker process) or when it was called before; it is safe to call
// from any goroutine. StopAll ends the loop.
func StartLoop() {
	if IsWorkerProcess() || !claimLoop() {
		return
	}
	l := theProc().loop
	installPanicHandler()
	go func() {
		if err := l.Run(); err != nil {
			logger().Error("event loop failed", "err", err)
		}
	}()
}

// Async runs work on a new goroutine, so blocking calls (database/sql, an
// HTTP client, DNS, os/exec) never stall the event loop, then runs done with
// its result on the loop. Each call starts a goroutine, nothing bounds how
// many run, and done runs even if the connection it answers has closed: for
// a server under load prefer AsyncFor or AsyncOn with an AsyncPool, which
// bound the goroutines and the queue, refuse with ErrAsyncBusy when full and
// cancel work whose connection has gone.
func Async[T any](work func() (T, error), done func(T, error)) {
	l := theProc().loop
	go func() {
		v, err := work()
		l.Post(func() { done(v, err) })
	}()
	l.Readied()
}

// Timers is the type of Timer, Workerman's Timer class.
type Timers struct{}

// Timer adds and removes timers of the calling process. Timer callbacks run
// on the event loop: a slow callback delays the others, never overlaps them.
//
//	id := workerman.Timer.Add(10*time.Second, func() { conn.Send("ping") })
//	workerman.Timer.Del(id)
var Timer Timers

// Add runs fn every interval until the timer is deleted, and returns its id.
// Intervals have millisecond precision. It is safe to call from any
// goroutine.
func (Timers) Add(interval time.Duration, fn func()) int {
	return theProc().loop.AddTimer(interval, true, fn)
}

// Once runs fn once after interval (Workerman's Timer::add with persistent
// false) and returns the timer's id.
func (Timers) Once(interval time.Duration, fn func()) int {
	return theProc().loop.AddTimer(interval, false, fn)
}

// Del deletes a timer and reports whether it was live.
func (Timers) Del(id int) bool { return theProc().loop.DelTimer(id) }

// DelAll deletes every timer of the process.
func (Timers) DelAll() { theProc().loop.DelAllTimers() }

// Count returns the number of live timers.
func (Timers) Count() int { return theProc().loop.TimerCount() }
