package globaldata

import (
	"cmp"
	"context"
	"fmt"
	"hash/crc32"
	"slices"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/link"
)

// How a Client keeps track of its requests: which server a key goes to,
// the requests waiting for a reply, and their timeouts.

// serverFor returns the server that holds key.
func (c *Client) serverFor(key string) *server {
	if len(c.servers) == 1 {
		return c.servers[0]
	}
	return c.servers[crc32.ChecksumIEEE([]byte(key))%uint32(len(c.servers))]
}

// start sends a request, or holds it while its server is unreachable. On
// success done runs later, exactly once, on the loop (unless abandon takes
// the request back); an error means the request was not made and done
// will not run.
func (c *Client) start(key string, req request, done func(reply, error)) (uint64, error) {
	srv := c.serverFor(key)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, fmt.Errorf("%w (%s %q)", ErrClosed, opName(req.op), key)
	}
	c.nextID++
	req.id = c.nextID
	cl := &call{id: req.id, op: req.op, key: key, srv: srv, deadline: time.Now().Add(c.timeout), done: done}
	if c.kv != nil {
		return c.startKV(cl, req)
	}
	viaLink := srv.up
	if !viaLink {
		frame := appendRequest(nil, &req)
		if srv.heldBytes > 0 && srv.heldBytes+len(frame) > c.maxPending {
			c.mu.Unlock()
			c.refused.Add(1)
			return 0, fmt.Errorf("%w (%s %q on %s)", ErrQueueFull, opName(req.op), key, srv.addr)
		}
		cl.frame = frame
		srv.held = append(srv.held, cl)
		srv.heldBytes += len(frame)
	} else {
		cl.sent = true
	}
	c.pending[cl.id] = cl
	arm := !c.sweeping
	c.sweeping = true
	c.mu.Unlock()
	if arm {
		workerman.Post(c.armSweep)
	}
	if viaLink {
		// The link is called without c.mu: Keep, which takes c.mu, runs
		// under the link's lock. A request marked sent here and then
		// failed by onDown before it reaches the link's queue was told
		// "outcome unknown", and Keep drops it when the link comes back.
		err := srv.l.Queue(func(b []byte) []byte { return appendRequest(b, &req) })
		if err != nil && c.take(cl) {
			if err == link.ErrFull {
				c.refused.Add(1)
				return 0, fmt.Errorf("%w (%s %q on %s)", ErrQueueFull, opName(req.op), key, srv.addr)
			}
			return 0, fmt.Errorf("%w (%s %q)", ErrClosed, opName(req.op), key)
		}
	}
	c.requests.Add(1)
	return cl.id, nil
}

func byID(a, b *call) int { return cmp.Compare(a.id, b.id) }

// take removes a pending request; false means another path (reply,
// timeout, lost connection, Close) has it.
func (c *Client) take(cl *call) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending[cl.id] != cl {
		return false
	}
	delete(c.pending, cl.id)
	if !cl.sent && c.kv == nil {
		c.unhold(cl)
	}
	return true
}

// unhold marks a held request dead, with c.mu held.
func (c *Client) unhold(cl *call) {
	srv := cl.srv
	cl.dead = true
	srv.heldBytes -= len(cl.frame)
	cl.frame = nil
	srv.heldDead++
	if srv.heldDead > 32 && srv.heldDead > len(srv.held)/2 {
		srv.held = slices.DeleteFunc(srv.held, func(x *call) bool { return x.dead })
		srv.heldDead = 0
	}
}

// abandon takes back the request id for a caller that stopped waiting;
// false means its done runs (or ran) with the outcome.
func (c *Client) abandon(id uint64) (cl *call, ok bool) {
	c.mu.Lock()
	cl = c.pending[id]
	c.mu.Unlock()
	if cl == nil || !c.take(cl) {
		return nil, false
	}
	return cl, true
}

// failure wraps a failed request's error.
func failure(kind error, cl *call, cause error) error {
	return fmt.Errorf("%w (%s %q on %s: %w)", kind, opName(cl.op), cl.key, cl.srv.addr, cause)
}

// timeoutError is the cause of a request that ran out of time; it matches
// context.DeadlineExceeded.
type timeoutError struct{ msg string }

func (e timeoutError) Error() string        { return e.msg }
func (e timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }
func (e timeoutError) Timeout() bool        { return true }

// failed reports a request taken back from pending to its done.
func (c *Client) failed(cl *call, cause error) {
	if cl.sent {
		c.unknown.Add(1)
		cl.done(reply{}, failure(ErrOutcomeUnknown, cl, cause))
	} else {
		c.notSent.Add(1)
		cl.done(reply{}, failure(ErrNotSent, cl, cause))
	}
}

// armSweep starts the timer that fails expired requests, on the loop.
func (c *Client) armSweep() { workerman.Timer.Once(c.tick, c.sweep) }

// sweep fails the requests whose timeout has passed, on the loop.
func (c *Client) sweep() {
	now := time.Now()
	var expired []*call
	c.mu.Lock()
	for id, cl := range c.pending {
		if now.After(cl.deadline) {
			delete(c.pending, id)
			if !cl.sent && c.kv == nil {
				c.unhold(cl)
			}
			expired = append(expired, cl)
		}
	}
	again := len(c.pending) > 0 && !c.closed
	c.sweeping = again
	c.mu.Unlock()
	if again {
		c.armSweep()
	}
	slices.SortFunc(expired, byID)
	for _, cl := range expired {
		if cl.sent {
			c.failed(cl, timeoutError{"no reply within " + c.timeout.String()})
		} else {
			c.failed(cl, timeoutError{"server unreachable for " + c.timeout.String()})
		}
	}
}
