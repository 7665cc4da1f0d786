package workerman

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrAsyncBusy is returned by AsyncFor and AsyncOn when the pool's workers
// are all busy and its queue is full. Nothing was started: answer the
// client at once (an HTTP 503, a "try again" message) instead of letting
// work pile up behind a slow backend.
var ErrAsyncBusy = errors.New("workerman: async pool busy: all workers running and the queue is full")

// AsyncPool runs blocking work (database/sql, go-redis, an HTTP client, DNS,
// os/exec) on a bounded set of goroutines and delivers each result back on
// the process's event loop. It differs from Async, which starts one
// goroutine per call and never refuses one:
//
//   - At most Workers calls run at once and at most Queue wait; past that
//     the submission fails with ErrAsyncBusy, so a slow backend costs a
//     bounded number of goroutines and bytes, and the caller can shed load.
//   - The work receives a context.Context that ends when the requesting
//     connection closes (see Connection.Context), when the process's loop
//     stops, or after Timeout. Queued work whose context has ended is not
//     started at all.
//   - When the requesting connection has closed by the time the result
//     arrives, done is not called: callbacks never see a dead connection.
//   - Its goroutines exit when they have been idle for a while; Stats tells
//     how many calls run, wait, were refused or dropped, and how long they
//     waited and ran.
//
// Set the fields before the first call; the zero value is ready to use.
// Give each backend its own pool when one may stall while another is
// healthy (a database and a cache), so a slow one cannot take the other's
// workers. The pool's bookkeeping is safe from any goroutine, but AsyncOn
// and AsyncFor must be called on the loop, like Connection's methods.
//
// docs/clients.md maps the manual's components (MySQL, Redis, HTTP client,
// DNS, child processes, message queues) to Go libraries and shows the
// patterns; examples/clients-* are runnable programs for each.
type AsyncPool struct {
	// Workers bounds the calls that run at once; 0 means
	// DefaultAsyncWorkers. Match it to the backend's own limit, such as
	// database/sql's SetMaxOpenConns, so calls wait in the queue here
	// rather than inside the driver.
	Workers int
	// Queue bounds the calls that wait for a worker; 0 means 16 × Workers,
	// a negative value means no queue (refuse as soon as every worker is
	// busy).
	Queue int
	// Timeout, when positive, is the deadline given to each call's context,
	// counted from its submission (queue time included).
	Timeout time.Duration

	once    sync.Once
	limit   int32
	tasks   chan *asyncTask
	running atomic.Int32 // goroutines serving the pool
	busy    atomic.Int32 // calls whose work is running

	done, rejected, dropped, canceled atomic.Int64
	waitNs, runNs                     atomic.Int64
}

// DefaultAsyncWorkers is the Workers of a pool that does not set it.
var DefaultAsyncWorkers = 64

// DefaultAsyncPool is the pool AsyncFor uses. Change its fields in
// OnWorkerStart, before the first call.
var DefaultAsyncPool = &AsyncPool{}

// asyncIdle is how long a pool goroutine waits for more work before it
// exits.
var asyncIdle atomic.Int64

func init() { asyncIdle.Store(int64(5 * time.Second)) }

// AsyncStats are the figures of one AsyncPool.
type AsyncStats struct {
	// Workers and Queue are the pool's limits in effect.
	Workers, Queue int
	// Running counts calls whose work is running; Queued those waiting.
	Running, Queued int
	// Goroutines counts the pool's goroutines, busy or idle.
	Goroutines int
	// Done counts calls whose work returned (or was skipped because its
	// context had ended); Rejected the submissions refused with
	// ErrAsyncBusy; Dropped the results not delivered because their
	// connection had closed; Canceled the calls skipped because their
	// context ended while they waited.
	Done, Rejected, Dropped, Canceled int64
	// WaitTime and RunTime are the totals of the time calls spent queued
	// and running; divide by Done for the means.
	WaitTime, RunTime time.Duration
}

// Stats returns the pool's figures. It is safe to call from any goroutine.
func (p *AsyncPool) Stats() AsyncStats {
	p.init()
	return AsyncStats{
		Workers:    int(p.limit),
		Queue:      cap(p.tasks),
		Running:    int(p.busy.Load()),
		Queued:     len(p.tasks),
		Goroutines: int(p.running.Load()),
		Done:       p.done.Load(),
		Rejected:   p.rejected.Load(),
		Dropped:    p.dropped.Load(),
		Canceled:   p.canceled.Load(),
		WaitTime:   time.Duration(p.waitNs.Load()),
		RunTime:    time.Duration(p.runNs.Load()),
	}
}

func (p *AsyncPool) init() {
	p.once.Do(func() {
		n := p.Workers
		if n <= 0 {
			n = DefaultAsyncWorkers
		}
		q := p.Queue
		if q == 0 {
			q = 16 * n
		} else if q < 0 {
			q = 0
		}
		p.limit = int32(n)
		p.tasks = make(chan *asyncTask, q)
	})
}

// asyncTask is one submitted call.
type asyncTask struct {
	ctx    context.Context
	cancel context.CancelFunc // non-nil when the pool added a deadline
	queued time.Time
	// run does the work, or skips it when skip is not nil, and returns the
	// delivery of its result to done.
	run  func(ctx context.Context, skip error) func()
	conn *Connection
	loop interface{ Post(func()) }
}

// AsyncFor runs work on DefaultAsyncPool; see AsyncOn.
func AsyncFor[T any](c *Connection, work func(ctx context.Context) (T, error), done func(T, error)) error {
	return AsyncOn(DefaultAsyncPool, c, work, done)
}

// AsyncOn runs work on one of p's goroutines and then done with its result
// on the event loop. c is the connection the work is for, or nil: work's
// context ends when c closes, and done is not called once c has closed.
// Without c the context ends when the process's loop stops.
//
// It returns ErrAsyncBusy when p is full and net.ErrClosed when c has
// already closed; in both cases neither work nor done runs. It must be
// called on the loop.
func AsyncOn[T any](p *AsyncPool, c *Connection, work func(ctx context.Context) (T, error), done func(T, error)) error {
	p.init()
	var ctx context.Context
	if c != nil {
		if c.status == StatusClosed {
			return net.ErrClosed
		}
		ctx = c.Context()
	} else {
		ctx = processContext()
	}
	l := theProc().loop
	t := &asyncTask{ctx: ctx, queued: time.Now(), conn: c, loop: l}
	t.run = func(ctx context.Context, skip error) func() {
		if skip != nil {
			return func() {
				var zero T
				done(zero, skip)
			}
		}
		v, err := work(ctx)
		return func() { done(v, err) }
	}
	if !p.submit(t) {
		p.rejected.Add(1)
		return ErrAsyncBusy
	}
	l.Readied() // a goroutine starts, or a waiting one takes t
	return nil
}

// submit starts t on a new goroutine while fewer than Workers run, or
// queues it. It reports false when the queue is full.
func (p *AsyncPool) submit(t *asyncTask) bool {
	if p.Timeout > 0 {
		t.ctx, t.cancel = context.WithTimeout(t.ctx, p.Timeout)
	}
	if p.acquire() {
		go p.serve(t)
		return true
	}
	select {
	case p.tasks <- t:
	default:
		if t.cancel != nil {
			t.cancel()
		}
		return false
	}
	// Every goroutine may have found the queue empty and exited between
	// acquire and the send above; an exiting goroutine looks at the queue
	// after it has left the count, so one of the two sees the task.
	if len(p.tasks) > 0 && p.acquire() {
		go p.serve(nil)
	}
	return true
}

// acquire counts one more goroutine if fewer than Workers run.
func (p *AsyncPool) acquire() bool {
	for {
		n := p.running.Load()
		if n >= p.limit {
			return false
		}
		if p.running.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// serve runs t (if not nil) and then queued tasks until the queue has been
// empty for asyncIdle.
func (p *AsyncPool) serve(t *asyncTask) {
	var idle *time.Timer
	wait := time.Duration(asyncIdle.Load())
	for {
		if t != nil {
			p.exec(t)
			t = nil
		}
		select {
		case t = <-p.tasks:
			continue
		default:
		}
		if idle == nil {
			idle = time.NewTimer(wait)
		} else {
			idle.Reset(wait)
		}
		select {
		case t = <-p.tasks:
			idle.Stop()
			continue
		case <-idle.C:
		}
		p.running.Add(-1)
		// A task queued just now, while this goroutine was still counted,
		// must not be stranded: take it back if there is room.
		if len(p.tasks) == 0 || !p.acquire() {
			return
		}
	}
}

// exec runs one task and posts its delivery to the loop.
func (p *AsyncPool) exec(t *asyncTask) {
	start := time.Now()
	p.waitNs.Add(int64(start.Sub(t.queued)))
	var deliver func()
	if err := t.ctx.Err(); err != nil {
		// Ended while queued: by the connection closing (the delivery is
		// then dropped), the pool's Timeout or the process stopping (done
		// gets the context's error).
		p.canceled.Add(1)
		deliver = t.run(t.ctx, err)
	} else {
		p.busy.Add(1)
		deliver = t.run(t.ctx, nil)
		p.busy.Add(-1)
		p.runNs.Add(int64(time.Since(start)))
	}
	if t.cancel != nil {
		t.cancel()
	}
	p.done.Add(1)
	c := t.conn
	t.loop.Post(func() {
		if c != nil && c.status == StatusClosed {
			p.dropped.Add(1)
			return
		}
		deliver()
	})
}

// Context returns a context that is canceled when the connection closes
// (before OnClose runs) or the process's loop stops. Give it to blocking
// calls made for this connection, so they stop when nobody is left to
// answer. It must be called on the loop.
func (c *Connection) Context() context.Context {
	if c.ext == nil {
		c.ext = &connExt{}
	}
	// An outbound connection that was closed and reconnected gets a
	// fresh context.
	if c.ext.ctx == nil || c.ext.ctx.Err() != nil && c.status != StatusClosed {
		c.ext.ctx, c.ext.cancel = context.WithCancel(processContext())
		if c.status == StatusClosed {
			c.ext.cancel()
		}
	}
	return c.ext.ctx
}

var (
	procCtxOnce sync.Once
	procCtx     context.Context
)

// processContext is canceled when the process's event loop stops.
func processContext() context.Context {
	procCtxOnce.Do(func() {
		var cancel context.CancelFunc
		procCtx, cancel = context.WithCancel(context.Background())
		done := theProc().loop.Done()
		go func() {
			<-done
			cancel()
		}()
	})
	return procCtx
}
