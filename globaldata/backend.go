package globaldata

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"sync"
	"time"

	"github.com/workerman-go/workerman"
)

// store is a key-value service (NATS JetStream KV, Redis) that performs
// requests in place of a GlobalData server. apply blocks; it runs on the
// client's worker goroutines, never on the loop.
type store interface {
	// apply performs one request. An error means no answer: wrapped in
	// errUnsent when the request certainly did not reach the service (it
	// may be tried again), otherwise its outcome is unknown.
	apply(ctx context.Context, r *request) (status byte, val []byte, msg string, err error)
	// ready reports whether the service has been reached at least once
	// and is reachable as far as the client knows.
	ready() bool
	close()
}

// errUnsent marks a failure before the request reached the service.
type errUnsent struct{ err error }

func (e errUnsent) Error() string { return e.err.Error() }
func (e errUnsent) Unwrap() error { return e.err }

// storeScheme returns "nats" or "redis" when the addresses name a
// key-value service instead of GlobalData servers, with the URL to give
// it: NATS servers may be listed as several addresses or in one,
// separated by commas.
func storeScheme(addresses []string) (scheme, url string, err error) {
	var kinds []string
	for _, a := range addresses {
		for _, u := range strings.Split(a, ",") {
			s, _, _ := strings.Cut(strings.TrimSpace(u), "://")
			switch s {
			case "nats":
				kinds = append(kinds, "nats")
			case "redis", "rediss":
				kinds = append(kinds, "redis")
			default:
				kinds = append(kinds, "")
			}
		}
	}
	if len(kinds) == 0 || kinds[0] == "" {
		for _, k := range kinds {
			if k != "" {
				return "", "", fmt.Errorf("addresses %q mix GlobalData servers and %s", addresses, k)
			}
		}
		return "", "", nil
	}
	for _, k := range kinds {
		if k != kinds[0] {
			return "", "", fmt.Errorf("addresses %q: one backend at a time", addresses)
		}
	}
	if kinds[0] == "redis" && len(kinds) != 1 {
		return "", "", fmt.Errorf("addresses %q: one Redis server", addresses)
	}
	return kinds[0], strings.Join(addresses, ","), nil
}

// storeWorkers is the number of goroutines performing a store's requests.
// A key's requests always go to the same one, in order.
const storeWorkers = 8

// kvRunner performs a client's requests on a store: per worker a queue of
// calls, bounded in bytes with the other workers' (Options.MaxPending).
type kvRunner struct {
	c  *Client
	st store

	mu     sync.Mutex
	queues [storeWorkers][]*kvJob
	bytes  int
	closed bool
	wake   [storeWorkers]chan struct{}
	stop   chan struct{}
}

type kvJob struct {
	cl  *call
	req request
}

func (c *Client) startStore(st store) {
	k := &kvRunner{c: c, st: st, stop: make(chan struct{})}
	for i := range k.wake {
		k.wake[i] = make(chan struct{}, 1)
		go k.work(i)
	}
	c.kv = k
	go func() {
		for !st.ready() {
			select {
			case <-k.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		c.mu.Lock()
		srv := c.servers[0]
		if !srv.everUp {
			srv.everUp = true
			close(c.ready)
		}
		c.mu.Unlock()
	}()
}

// startKV hands a request to the key-value service's workers, with c.mu
// held (and released here).
func (c *Client) startKV(cl *call, req request) (uint64, error) {
	c.pending[cl.id] = cl
	arm := !c.sweeping
	c.sweeping = true
	c.mu.Unlock()
	if arm {
		workerman.Post(c.armSweep)
	}
	if err := c.kv.queue(cl, req); err != nil {
		c.mu.Lock()
		delete(c.pending, cl.id)
		c.mu.Unlock()
		if err == ErrQueueFull {
			c.refused.Add(1)
		}
		return 0, fmt.Errorf("%w (%s %q on %s)", err, opName(req.op), cl.key, cl.srv.addr)
	}
	c.requests.Add(1)
	return cl.id, nil
}

func jobSize(r *request) int { return len(r.key) + len(r.val) + len(r.old) + 16 }

// queue adds a request, which start has registered in c.pending.
func (k *kvRunner) queue(cl *call, req request) error {
	i := crc32.ChecksumIEEE(req.key) % storeWorkers
	n := jobSize(&req)
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return ErrClosed
	}
	if k.bytes > 0 && k.bytes+n > k.c.maxPending {
		k.mu.Unlock()
		return ErrQueueFull
	}
	k.queues[i] = append(k.queues[i], &kvJob{cl: cl, req: req})
	k.bytes += n
	k.mu.Unlock()
	select {
	case k.wake[i] <- struct{}{}:
	default:
	}
	return nil
}

func (k *kvRunner) close() {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return
	}
	k.closed = true
	k.mu.Unlock()
	close(k.stop)
	k.st.close()
}

// work performs the requests of one queue, one at a time.
func (k *kvRunner) work(i int) {
	for {
		k.mu.Lock()
		jobs := k.queues[i]
		k.queues[i] = nil
		k.mu.Unlock()
		if len(jobs) == 0 {
			select {
			case <-k.wake[i]:
				continue
			case <-k.stop:
				return
			}
		}
		for _, j := range jobs {
			k.perform(j)
			k.mu.Lock()
			k.bytes -= jobSize(&j.req)
			k.mu.Unlock()
		}
	}
}

// perform runs one request until its answer or its deadline; while the
// store cannot be reached the request waits and is tried again.
func (k *kvRunner) perform(j *kvJob) {
	c, cl := k.c, j.cl
	for {
		// While the store is known to be unreachable the request waits,
		// unsent (the sweep fails it with ErrNotSent at its deadline).
		ready := k.st.ready()
		c.mu.Lock()
		live := c.pending[cl.id] == cl
		if live && ready {
			cl.sent = true
		}
		c.mu.Unlock()
		if !live {
			return // it timed out, was abandoned or closed while it waited
		}
		if !ready {
			select {
			case <-time.After(20 * time.Millisecond):
				continue
			case <-k.stop:
				return
			}
		}
		ctx, cancel := context.WithDeadline(context.Background(), cl.deadline)
		status, val, msg, err := k.st.apply(ctx, &j.req)
		cancel()
		var unsent errUnsent
		if err != nil && errors.As(err, &unsent) && time.Now().Before(cl.deadline) {
			c.mu.Lock()
			if c.pending[cl.id] == cl {
				cl.sent = false // it may wait again: not sent so far
			}
			c.mu.Unlock()
			select {
			case <-time.After(50 * time.Millisecond):
				continue
			case <-k.stop:
				return
			}
		}
		workerman.Post(func() { k.finish(cl, status, val, msg, err) })
		return
	}
}

// finish gives a request's outcome to its callback, on the loop.
func (k *kvRunner) finish(cl *call, status byte, val []byte, msg string, err error) {
	c := k.c
	c.mu.Lock()
	live := c.pending[cl.id] == cl
	if live {
		delete(c.pending, cl.id)
	}
	c.mu.Unlock()
	if !live {
		return
	}
	var unsent errUnsent
	switch {
	case err == nil:
		c.replies.Add(1)
		cl.done(reply{id: cl.id, status: status, val: val, msg: []byte(msg)}, nil)
	case errors.As(err, &unsent):
		c.notSent.Add(1)
		cl.done(reply{}, failure(ErrNotSent, cl, err))
	default:
		c.unknown.Add(1)
		cl.done(reply{}, failure(ErrOutcomeUnknown, cl, err))
	}
}

// escapeKey turns a key into the characters a service accepts in a key:
// letters, digits, '-' and '_' stay, every other byte becomes =XX; ""
// becomes "=".
func escapeKey(key []byte) string {
	if len(key) == 0 {
		return "="
	}
	const hex = "0123456789ABCDEF"
	var sb strings.Builder
	for _, c := range key {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			sb.WriteByte(c)
		} else {
			sb.WriteByte('=')
			sb.WriteByte(hex[c>>4])
			sb.WriteByte(hex[c&15])
		}
	}
	return sb.String()
}

// incremented computes an increment the way the GlobalData server does.
func incremented(key []byte, cur []byte, step int64) (status byte, val []byte, msg string) {
	n, errMsg := number(cur)
	if errMsg != "" {
		return statusError, nil, errMsg
	}
	sum := n + step
	if (step > 0 && sum < n) || (step < 0 && sum > n) {
		return statusError, nil, "increment of " + fmt.Sprintf("%q", key) + " overflows int64"
	}
	return statusYes, fmt.Appendf(nil, "%d", sum), ""
}
