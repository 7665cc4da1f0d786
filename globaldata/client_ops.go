package globaldata

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/workerman-go/workerman"
)

// The callback style of the Client's operations, which run on the loop.

// post runs a callback with an immediate failure on the loop, so that a
// callback never runs inside the call that gives it.
func post(err error, fn func(error)) { workerman.Post(func() { fn(err) }) }

// logFailure reports the failure of a request made without a callback.
func logFailure(op byte, key string, err error) {
	if err != nil {
		workerman.Logger().Warn("globaldata: request failed", "op", opName(op), "key", key, "err", err)
	}
}

// serverError converts a reply's error status.
func serverError(rp reply) error {
	return errors.New("globaldata server: " + string(rp.msg))
}

// send makes a callback-style request: fn gets the reply or the failure on
// the loop; a nil fn logs failures.
func (c *Client) send(key string, req request, fn func(rp reply, err error)) {
	if fn == nil {
		fn = func(_ reply, err error) { logFailure(req.op, key, err) }
	}
	if _, err := c.start(key, req, fn); err != nil {
		post(err, func(err error) { fn(reply{}, err) })
	}
}

// Get reads a variable, the manual's $global->key: fn receives its
// Value, which reports through Exists whether the key is set.
func (c *Client) Get(key string, fn func(Value, error)) {
	c.send(key, request{op: opGet, key: []byte(key)}, func(rp reply, err error) {
		if fn != nil {
			fn(getResult(rp, err))
		} else {
			logFailure(opGet, key, err)
		}
	})
}

func getResult(rp reply, err error) (Value, error) {
	switch {
	case err != nil:
		return Value{}, err
	case rp.status == statusError:
		return Value{}, serverError(rp)
	case rp.status == statusYes && rp.val != nil:
		return Value{b: bytes.Clone(rp.val)}, nil
	}
	return Value{}, nil
}

// boolResult reads the status of a reply that answers yes or no.
func boolResult(rp reply, err error) (bool, error) {
	switch {
	case err != nil:
		return false, err
	case rp.status == statusError:
		return false, serverError(rp)
	}
	return rp.status == statusYes, nil
}

// Set stores a value (any value encoding/json can encode) under key, the
// manual's $global->key = $value; fn, which may be nil, receives the
// outcome. An encoding failure is reported to fn and nothing is sent.
func (c *Client) Set(key string, value any, fn func(error)) {
	done := func(err error) {
		if fn != nil {
			fn(err)
		} else {
			logFailure(opSet, key, err)
		}
	}
	b, err := encode(value)
	if err != nil {
		post(err, done)
		return
	}
	c.send(key, request{op: opSet, key: []byte(key), val: b}, func(rp reply, err error) {
		_, err = boolResult(rp, err)
		done(err)
	})
}

// Isset reports whether key is set, the manual's isset($global->key).
func (c *Client) Isset(key string, fn func(set bool, err error)) {
	c.boolOp(request{op: opIsset, key: []byte(key)}, key, fn)
}

// Unset removes key, the manual's unset($global->key); fn, which may be
// nil, receives the outcome. Removing a key that is not set is no error.
func (c *Client) Unset(key string, fn func(error)) {
	c.boolOp(request{op: opUnset, key: []byte(key)}, key, func(_ bool, err error) {
		if fn != nil {
			fn(err)
		} else {
			logFailure(opUnset, key, err)
		}
	})
}

// Add stores value under key only if key is not set, atomically, the
// manual's add: fn receives true if it was stored, false if key was
// already set.
func (c *Client) Add(key string, value any, fn func(added bool, err error)) {
	b, err := encode(value)
	if err != nil {
		if fn != nil {
			post(err, func(err error) { fn(false, err) })
		} else {
			logFailure(opAdd, key, err)
		}
		return
	}
	c.boolOp(request{op: opAdd, key: []byte(key), val: b}, key, fn)
}

// Cas replaces the value of key by newValue only if it still is oldValue,
// atomically, the manual's cas: fn receives true if it was replaced.
//
// The values are compared by their JSON encoding: oldValue is encoded
// with encoding/json and compared byte for byte with what the server
// holds. Values decoded from a Value and encoded again compare equal
// (encoding/json writes map keys sorted and numbers in one form), but a
// struct and a map with the same fields may not; pass the Value read with
// Get as oldValue to compare exactly what was read. A key that is not set
// compares as null: Cas(key, nil, v) sets a key that is not set.
func (c *Client) Cas(key string, oldValue, newValue any, fn func(swapped bool, err error)) {
	o, err := encode(oldValue)
	var n []byte
	if err == nil {
		n, err = encode(newValue)
	}
	if err != nil {
		if fn != nil {
			post(err, func(err error) { fn(false, err) })
		} else {
			logFailure(opCas, key, err)
		}
		return
	}
	c.boolOp(request{op: opCas, key: []byte(key), old: o, val: n}, key, fn)
}

func (c *Client) boolOp(req request, key string, fn func(bool, error)) {
	c.send(key, req, func(rp reply, err error) {
		ok, err := boolResult(rp, err)
		if fn != nil {
			fn(ok, err)
		} else {
			logFailure(req.op, key, err)
		}
	})
}

// Increment adds step (which may be negative) to the number stored under
// key, atomically, the manual's increment: fn receives the new value and
// ok true. As in Workerman, a key that is not set is left alone (ok false)
// and a value that is not a number counts as 0; a number with a fraction
// is truncated first. A result outside the int64 range is an error and
// leaves the value unchanged.
func (c *Client) Increment(key string, step int64, fn func(n int64, ok bool, err error)) {
	c.send(key, request{op: opIncrement, key: []byte(key), step: step}, func(rp reply, err error) {
		n, ok, err := incrementResult(rp, err)
		if fn != nil {
			fn(n, ok, err)
		} else {
			logFailure(opIncrement, key, err)
		}
	})
}

func incrementResult(rp reply, err error) (int64, bool, error) {
	ok, err := boolResult(rp, err)
	if !ok || err != nil {
		return 0, false, err
	}
	n, err := strconv.ParseInt(string(rp.val), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("globaldata: increment reply %q: %w", rp.val, err)
	}
	return n, true, nil
}
