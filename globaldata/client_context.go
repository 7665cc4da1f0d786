package globaldata

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

// The blocking style of the Client's operations, for goroutines that are
// not the loop.

// result is a reply copied out of the loop for a waiting goroutine.
type result struct {
	rp  reply
	err error
}

// wait makes a request and waits for its outcome, ctx or the client's
// timeout (plus a second, so that the loop's own timeout wins when the
// loop runs).
func (c *Client) wait(ctx context.Context, key string, req request) (reply, error) {
	if err := ctx.Err(); err != nil {
		return reply{}, fmt.Errorf("%w (%s %q: %w)", ErrNotSent, opName(req.op), key, err)
	}
	ch := make(chan result, 1)
	id, err := c.start(key, req, func(rp reply, err error) {
		rp.val = bytes.Clone(rp.val)
		rp.msg = bytes.Clone(rp.msg)
		ch <- result{rp, err}
	})
	if err != nil {
		return reply{}, err
	}
	limit := c.timeout + time.Second
	t := time.NewTimer(limit)
	defer t.Stop()
	var cause error
	select {
	case r := <-ch:
		return r.rp, r.err
	case <-ctx.Done():
		cause = ctx.Err()
	case <-t.C:
		cause = timeoutError{"no answer within " + limit.String() + " (the event loop is not running, or is blocked: never call the Context methods on it)"}
	}
	if cl, ok := c.abandon(id); ok {
		if cl.sent {
			c.unknown.Add(1)
			return reply{}, failure(ErrOutcomeUnknown, cl, cause)
		}
		c.notSent.Add(1)
		return reply{}, failure(ErrNotSent, cl, cause)
	}
	r := <-ch // the outcome is on its way
	return r.rp, r.err
}

// GetContext is Get for a goroutine that is not the loop: it waits for the
// value, for ctx, or for the client's timeout. Never call it from a
// callback: the loop would wait for itself.
func (c *Client) GetContext(ctx context.Context, key string) (Value, error) {
	return getResult(c.wait(ctx, key, request{op: opGet, key: []byte(key)}))
}

// SetContext is Set for a goroutine that is not the loop; see GetContext.
func (c *Client) SetContext(ctx context.Context, key string, value any) error {
	b, err := encode(value)
	if err != nil {
		return err
	}
	_, err = boolResult(c.wait(ctx, key, request{op: opSet, key: []byte(key), val: b}))
	return err
}

// IssetContext is Isset for a goroutine that is not the loop; see
// GetContext.
func (c *Client) IssetContext(ctx context.Context, key string) (bool, error) {
	return boolResult(c.wait(ctx, key, request{op: opIsset, key: []byte(key)}))
}

// UnsetContext is Unset for a goroutine that is not the loop; see
// GetContext.
func (c *Client) UnsetContext(ctx context.Context, key string) error {
	_, err := boolResult(c.wait(ctx, key, request{op: opUnset, key: []byte(key)}))
	return err
}

// AddContext is Add for a goroutine that is not the loop; see GetContext.
func (c *Client) AddContext(ctx context.Context, key string, value any) (bool, error) {
	b, err := encode(value)
	if err != nil {
		return false, err
	}
	return boolResult(c.wait(ctx, key, request{op: opAdd, key: []byte(key), val: b}))
}

// CasContext is Cas for a goroutine that is not the loop; see GetContext
// and Cas.
func (c *Client) CasContext(ctx context.Context, key string, oldValue, newValue any) (bool, error) {
	o, err := encode(oldValue)
	if err != nil {
		return false, err
	}
	n, err := encode(newValue)
	if err != nil {
		return false, err
	}
	return boolResult(c.wait(ctx, key, request{op: opCas, key: []byte(key), old: o, val: n}))
}

// IncrementContext is Increment for a goroutine that is not the loop; see
// GetContext and Increment.
func (c *Client) IncrementContext(ctx context.Context, key string, step int64) (n int64, ok bool, err error) {
	return incrementResult(c.wait(ctx, key, request{op: opIncrement, key: []byte(key), step: step}))
}
