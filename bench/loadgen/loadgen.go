// Package loadgen is a request/response load generator for echo-style
// servers. It opens a fixed number of TCP connections; on each, it sends a
// batch of Depth messages of Payload bytes, waits until the same bytes come
// back, checks them, and sends the next batch. It reports messages per
// second and the distribution of round-trip times over a measured window
// that follows a warm-up.
//
// The generator runs its connections on its own epoll loops (one per
// Threads) rather than a goroutine per connection, so a single CPU core can
// drive thousands of connections without becoming the bottleneck of a
// comparison. Pin it to a different core from the server under test.
package loadgen

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Config describes one load run.
type Config struct {
	// Addr is the server's "host:port".
	Addr string
	// Conns is the number of connections (at least 1).
	Conns int
	// Payload is the size of one message in bytes (at least 1).
	Payload int
	// Depth is the number of messages sent back to back before waiting for
	// their echo (pipelining). 0 means 1.
	Depth int
	// Warmup runs load before the measured window; nothing is counted.
	Warmup time.Duration
	// Duration is the length of the measured window (greater than 0).
	Duration time.Duration
	// Threads is the number of epoll loops sharing the connections. 0 means
	// 1, which is right when the generator is pinned to one core.
	Threads int
	// Rate, if above 0, paces the run to this many messages per second in
	// all: a connection whose echo is back waits for its turn before it
	// sends again. Turns missed while every connection waits for its echo
	// (up to 100 ms worth) are made up afterwards. Servers compared at the same rate do the same work, so
	// their CPU time per message compares costs at equal load. 0 means as
	// fast as the server answers. Latency is measured from the moment a
	// batch is written, so time spent waiting for a turn is not in it.
	Rate float64
	// DialTimeout bounds each connection attempt; 0 means 5 s.
	DialTimeout time.Duration
	// OnStart, if set, runs just before the measured window opens (for
	// example to sample the server's CPU time). An error aborts the run.
	OnStart func() error
	// OnEnd, if set, runs just after the measured window closes, before
	// the connections are closed.
	OnEnd func() error
}

// Result is the outcome of a run, counted over the measured window only.
type Result struct {
	// Messages is the number of messages echoed back in full.
	Messages int64
	// Bytes is the number of payload bytes echoed back in full.
	Bytes int64
	// Elapsed is the length of the measured window.
	Elapsed time.Duration
	// Latency holds the round-trip time of every batch: from the moment
	// its first byte was written until its last byte was read back.
	Latency *Histogram
}

// Rate returns messages per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Messages) / r.Elapsed.Seconds()
}

// ErrMismatch reports that a server echoed bytes other than those sent.
var ErrMismatch = errors.New("loadgen: echoed bytes differ from the bytes sent")

func (c *Config) check() error {
	switch {
	case c.Addr == "":
		return errors.New("loadgen: Addr is empty")
	case c.Conns < 1:
		return fmt.Errorf("loadgen: Conns is %d, want at least 1", c.Conns)
	case c.Payload < 1:
		return fmt.Errorf("loadgen: Payload is %d, want at least 1", c.Payload)
	case c.Depth < 0:
		return fmt.Errorf("loadgen: Depth is %d, want 0 or more", c.Depth)
	case c.Duration <= 0:
		return fmt.Errorf("loadgen: Duration is %v, want more than 0", c.Duration)
	case c.Warmup < 0:
		return fmt.Errorf("loadgen: Warmup is %v, want 0 or more", c.Warmup)
	case c.Threads < 0:
		return fmt.Errorf("loadgen: Threads is %d, want 0 or more", c.Threads)
	case c.Rate < 0 || c.Rate != c.Rate:
		return fmt.Errorf("loadgen: Rate is %v, want 0 or more", c.Rate)
	}
	if c.Depth == 0 {
		c.Depth = 1
	}
	if c.Threads == 0 {
		c.Threads = 1
	}
	if c.Threads > c.Conns {
		c.Threads = c.Conns
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	return nil
}

// Phases of a run, shared by the coordinator and the loops.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// Run opens cfg.Conns connections to cfg.Addr, drives them for
// cfg.Warmup+cfg.Duration and returns what was measured. It fails if a
// connection cannot be made, the server closes one, or an echo differs
// from what was sent. Cancelling ctx stops the run with ctx's error.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.check(); err != nil {
		return Result{}, err
	}
	sa, err := resolve(cfg.Addr)
	if err != nil {
		return Result{}, err
	}
	loops := make([]*loop, cfg.Threads)
	defer func() {
		for _, l := range loops {
			if l != nil {
				l.close()
			}
		}
	}()
	for i := range loops {
		l, err := newLoop(cfg.Payload, cfg.Depth)
		if err != nil {
			return Result{}, err
		}
		l.rate = cfg.Rate / float64(cfg.Threads)
		loops[i] = l
	}
	for i := 0; i < cfg.Conns; i++ {
		fd, err := dial(ctx, sa, cfg.DialTimeout)
		if err != nil {
			return Result{}, fmt.Errorf("loadgen: connection %d of %d to %s: %w", i+1, cfg.Conns, cfg.Addr, err)
		}
		if err := loops[i%len(loops)].add(fd); err != nil {
			unix.Close(fd)
			return Result{}, err
		}
	}

	var phase atomic.Int32
	errs := make([]error, len(loops))
	var wg sync.WaitGroup
	failed := make(chan struct{})
	var failOnce sync.Once
	for i, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.run(&phase); err != nil {
				errs[i] = err
				failOnce.Do(func() { close(failed) })
			}
		}()
	}
	stop := func() { phase.Store(phaseStop); wg.Wait() }
	wait := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-failed:
			stop()
			return errors.Join(errs...)
		case <-ctx.Done():
			stop()
			return ctx.Err()
		}
	}
	if err := wait(cfg.Warmup); err != nil {
		return Result{}, err
	}
	if cfg.OnStart != nil {
		if err := cfg.OnStart(); err != nil {
			stop()
			return Result{}, err
		}
	}
	start := time.Now()
	phase.Store(phaseMeasure)
	if err := wait(cfg.Duration); err != nil {
		return Result{}, err
	}
	phase.Store(phaseStop)
	elapsed := time.Since(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Result{}, err
	}
	if cfg.OnEnd != nil {
		if err := cfg.OnEnd(); err != nil {
			return Result{}, err
		}
	}
	res := Result{Elapsed: elapsed, Latency: new(Histogram)}
	for _, l := range loops {
		res.Messages += l.msgs
		res.Bytes += l.bytes
		res.Latency.Merge(&l.hist)
	}
	return res, nil
}

func resolve(addr string) (unix.Sockaddr, error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("loadgen: address %q: %w", addr, err)
	}
	if ip4 := ta.IP.To4(); ip4 != nil {
		sa := &unix.SockaddrInet4{Port: ta.Port}
		copy(sa.Addr[:], ip4)
		return sa, nil
	}
	if ta.IP == nil {
		return &unix.SockaddrInet4{Port: ta.Port, Addr: [4]byte{127, 0, 0, 1}}, nil
	}
	sa := &unix.SockaddrInet6{Port: ta.Port}
	copy(sa.Addr[:], ta.IP.To16())
	return sa, nil
}

// dial makes a non-blocking TCP connection with TCP_NODELAY, waiting at
// most timeout for the handshake.
func dial(ctx context.Context, sa unix.Sockaddr, timeout time.Duration) (int, error) {
	family := unix.AF_INET
	if _, ok := sa.(*unix.SockaddrInet6); ok {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			unix.Close(fd)
		}
	}()
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	err = unix.Connect(fd, sa)
	if err == unix.EINPROGRESS {
		deadline := time.Now().Add(timeout)
		for {
			if err := ctx.Err(); err != nil {
				return -1, err
			}
			left := time.Until(deadline)
			if left <= 0 {
				return -1, fmt.Errorf("connect: timed out after %v", timeout)
			}
			ms := int(min(left, 100*time.Millisecond) / time.Millisecond)
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
			n, err := unix.Poll(pfd, max(ms, 1))
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return -1, fmt.Errorf("poll: %w", err)
			}
			if n > 0 {
				break
			}
		}
		soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return -1, fmt.Errorf("getsockopt: %w", err)
		}
		if soerr != 0 {
			return -1, fmt.Errorf("connect: %w", unix.Errno(soerr))
		}
	} else if err != nil {
		return -1, fmt.Errorf("connect: %w", err)
	}
	ok = true
	return fd, nil
}

// closeAbort closes fd with a reset rather than a FIN, so repeated runs do
// not fill the port range with connections in TIME_WAIT.
func closeAbort(fd int) {
	unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	unix.Close(fd)
}

// conn is one connection's state inside a loop.
type conn struct {
	fd     int
	req    []byte // the batch being sent: Depth messages
	resp   []byte // what has come back of it
	wOff   int    // bytes of req written
	got    int    // bytes of resp received
	sentAt int64  // loop clock when the batch's first byte was written
	seq    uint64
	outOn  bool // watching for writability
	done   int  // batches completed
}

// loop drives a share of the connections on one epoll instance.
type loop struct {
	epfd    int
	conns   []*conn
	byFd    []*conn
	payload int
	depth   int
	base    time.Time
	events  []unix.EpollEvent

	once bool // each connection sends a single batch (OpenIdle)

	// Pacing (rate > 0): connections wait in a queue for tokens, one per
	// message, which accrue at rate per second up to a small burst.
	rate    float64
	tokens  float64
	refill  int64 // loop clock of the last refill
	waiting []*conn

	counting bool
	msgs     int64
	bytes    int64
	hist     Histogram
}

func newLoop(payload, depth int) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("loadgen: epoll_create1: %w", err)
	}
	return &loop{epfd: epfd, payload: payload, depth: depth, base: time.Now()}, nil
}

func (l *loop) add(fd int) error {
	c := &conn{fd: fd, req: make([]byte, l.payload*l.depth), resp: make([]byte, l.payload*l.depth)}
	for i := range c.req {
		c.req[i] = byte('a' + i%26)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("loadgen: epoll_ctl: %w", err)
	}
	for fd >= len(l.byFd) {
		l.byFd = append(l.byFd, make([]*conn, len(l.byFd)+64)...)
	}
	l.byFd[fd] = c
	l.conns = append(l.conns, c)
	return nil
}

func (l *loop) close() {
	for _, c := range l.conns {
		closeAbort(c.fd)
	}
	l.conns = nil
	unix.Close(l.epfd)
}

func (l *loop) now() int64 { return int64(time.Since(l.base)) }

// run drives the connections until the phase becomes phaseStop.
func (l *loop) run(phase *atomic.Int32) error {
	l.events = make([]unix.EpollEvent, min(len(l.conns), 1024))
	if l.rate > 0 {
		l.refill = l.now()
		l.tokens = float64(l.depth)
		l.waiting = append(l.waiting, l.conns...)
		if err := l.release(); err != nil {
			return err
		}
	} else {
		for _, c := range l.conns {
			if err := l.send(c); err != nil {
				return err
			}
		}
	}
	cur := phaseWarmup
	for {
		if p := phase.Load(); p != cur {
			cur = p
			switch p {
			case phaseMeasure:
				l.counting = true
				l.msgs, l.bytes = 0, 0
				l.hist.Reset()
			case phaseStop:
				return nil
			}
		}
		timeout := 5
		if len(l.waiting) > 0 {
			timeout = 1
		}
		n, err := unix.EpollWait(l.epfd, l.events, timeout)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("loadgen: epoll_wait: %w", err)
		}
		for i := 0; i < n; i++ {
			e := l.events[i]
			c := l.byFd[e.Fd]
			if e.Events&unix.EPOLLOUT != 0 {
				if err := l.flush(c); err != nil {
					return err
				}
			}
			if e.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				if err := l.receive(c); err != nil {
					return err
				}
			}
		}
		if len(l.waiting) > 0 {
			if err := l.release(); err != nil {
				return err
			}
		}
	}
}

// release sends the batches of waiting connections that the tokens
// accrued since the last refill allow, oldest first.
func (l *loop) release() error {
	now := l.now()
	// Up to 100 ms worth of turns are kept, so that the rate is met on
	// average even when the server stalls with every batch in flight.
	burst := max(float64(l.depth), l.rate/10)
	l.tokens = min(burst, l.tokens+float64(now-l.refill)*l.rate/1e9)
	l.refill = now
	i := 0
	for ; i < len(l.waiting) && l.tokens >= float64(l.depth); i++ {
		l.tokens -= float64(l.depth)
		if err := l.send(l.waiting[i]); err != nil {
			return err
		}
	}
	n := copy(l.waiting, l.waiting[i:])
	clear(l.waiting[n:])
	l.waiting = l.waiting[:n]
	return nil
}

// send starts the connection's next batch.
func (l *loop) send(c *conn) error {
	c.seq++
	for off := 0; off < len(c.req); off += l.payload {
		var stamp [8]byte
		binary.LittleEndian.PutUint64(stamp[:], c.seq)
		copy(c.req[off:off+l.payload], stamp[:])
	}
	c.wOff, c.got = 0, 0
	c.sentAt = l.now()
	return l.flush(c)
}

// flush writes what is left of the batch, watching for writability if the
// kernel does not take it all.
func (l *loop) flush(c *conn) error {
	for c.wOff < len(c.req) {
		n, err := unix.Write(c.fd, c.req[c.wOff:])
		if n > 0 {
			c.wOff += n
		}
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			break
		}
		if err != nil {
			return fmt.Errorf("loadgen: write: %w", err)
		}
	}
	want := c.wOff < len(c.req)
	if want != c.outOn {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(c.fd)}
		if want {
			ev.Events |= unix.EPOLLOUT
		}
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev); err != nil {
			return fmt.Errorf("loadgen: epoll_ctl: %w", err)
		}
		c.outOn = want
	}
	return nil
}

// receive reads what the server echoed; a complete batch is checked,
// counted and followed by the next one.
func (l *loop) receive(c *conn) error {
	n, err := unix.Read(c.fd, c.resp[c.got:])
	if err == unix.EAGAIN || err == unix.EINTR {
		return nil
	}
	if err != nil {
		return fmt.Errorf("loadgen: read: %w", err)
	}
	if n == 0 {
		return errors.New("loadgen: the server closed a connection")
	}
	c.got += n
	if c.got > c.wOff {
		return ErrMismatch // more bytes back than were sent
	}
	if c.got < len(c.resp) {
		return nil
	}
	if !bytes.Equal(c.resp, c.req) {
		return ErrMismatch
	}
	c.done++
	if l.counting {
		l.hist.Record(time.Duration(l.now() - c.sentAt))
		l.msgs += int64(l.depth)
		l.bytes += int64(len(c.req))
	}
	if l.once {
		return nil
	}
	if l.rate > 0 {
		l.waiting = append(l.waiting, c)
		return nil
	}
	return l.send(c)
}
