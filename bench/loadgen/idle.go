package loadgen

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Idle is a set of open connections that send nothing, for measuring what
// a server spends on a connection it only holds.
type Idle struct {
	l *loop
}

// OpenIdle opens n connections to addr and echoes one message of payload
// bytes on each, so that the server has accepted and served every one of
// them before it returns. The connections then stay open, silent, until
// Close. It fails if a connection cannot be made or an echo is wrong or
// does not arrive within timeout.
func OpenIdle(ctx context.Context, addr string, n, payload int, timeout time.Duration) (*Idle, error) {
	if n < 1 || payload < 1 {
		return nil, fmt.Errorf("loadgen: OpenIdle needs n and payload of at least 1 (got %d, %d)", n, payload)
	}
	sa, err := resolve(addr)
	if err != nil {
		return nil, err
	}
	l, err := newLoop(payload, 1)
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		fd, err := dial(ctx, sa, timeout)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("loadgen: idle connection %d of %d to %s: %w", i+1, n, addr, err)
		}
		if err := l.add(fd); err != nil {
			unix.Close(fd)
			l.close()
			return nil, err
		}
	}
	if err := l.pingAll(ctx, timeout); err != nil {
		l.close()
		return nil, err
	}
	return &Idle{l: l}, nil
}

// Len returns the number of open connections.
func (i *Idle) Len() int { return len(i.l.conns) }

// Close closes the connections.
func (i *Idle) Close() { i.l.close() }

// pingAll sends one batch on every connection and waits until each has
// come back.
func (l *loop) pingAll(ctx context.Context, timeout time.Duration) error {
	l.events = make([]unix.EpollEvent, min(len(l.conns), 1024))
	l.once = true
	for _, c := range l.conns {
		if err := l.send(c); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(timeout)
	pending := len(l.conns)
	for pending > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("loadgen: %d of %d connections got no echo within %v", pending, len(l.conns), timeout)
		}
		n, err := unix.EpollWait(l.epfd, l.events, 10)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("loadgen: epoll_wait: %w", err)
		}
		for i := 0; i < n; i++ {
			e := l.events[i]
			c := l.byFd[e.Fd]
			if c.done > 0 {
				continue
			}
			if e.Events&unix.EPOLLOUT != 0 {
				if err := l.flush(c); err != nil {
					return err
				}
			}
			if e.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				if err := l.receive(c); err != nil {
					return err
				}
				if c.done > 0 {
					pending--
				}
			}
		}
	}
	return nil
}
