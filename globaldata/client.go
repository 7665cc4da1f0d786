package globaldata

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/link"
	"github.com/workerman-go/workerman/internal/wire"
)

// Errors a Client reports. Failures are wrapped with the operation, the
// key and the cause; test them with errors.Is.
var (
	// ErrNotSent reports a request that was never sent to the server (it
	// stayed unreachable until the request's timeout or its context ended,
	// or the client was closed). It did not take effect and never will.
	ErrNotSent = errors.New("globaldata: request not sent; it did not take effect")
	// ErrOutcomeUnknown reports a request that was sent, or being sent,
	// when its connection was lost, its timeout passed or its context
	// ended, before the reply came: it may or may not have taken effect.
	ErrOutcomeUnknown = errors.New("globaldata: no reply from the server; the request may or may not have taken effect")
	// ErrQueueFull is returned when Options.MaxPending bytes of requests
	// already wait for a server that is unreachable or slow. The request
	// was not sent.
	ErrQueueFull = errors.New("globaldata: client queue full (server unreachable or slow); request not sent")
	// ErrClosed is returned for requests made after Close, and wrapped in
	// the failure of those Close ended.
	ErrClosed = errors.New("globaldata: client closed")
)

// Options tune a Client. The zero value is ready to use.
type Options struct {
	// Timeout bounds each request, from the call until the reply: a
	// request still unsent by then is dropped and fails with ErrNotSent, a
	// request sent and unanswered fails with ErrOutcomeUnknown. Both errors
	// also match context.DeadlineExceeded. 0 means 10 seconds.
	Timeout time.Duration
	// MaxPending bounds, per server, the bytes of requests waiting to be
	// sent while the server is unreachable or slow; past it requests fail
	// with ErrQueueFull. 0 means 4 MiB.
	MaxPending int
	// MaxPackageSize bounds one reply received from a server, and so the
	// largest value Get can read; 0 means 10 MiB and a little more, enough
	// for any value a server with the default Server.MaxPackageSize
	// stores. Raise both together.
	MaxPackageSize int
}

// Stats are a client's counters since it was created.
type Stats struct {
	// Requests counts requests accepted for sending.
	Requests int64
	// Replies counts requests the servers answered.
	Replies int64
	// Refused counts requests refused with ErrQueueFull.
	Refused int64
	// NotSent counts requests dropped unsent (ErrNotSent).
	NotSent int64
	// Unknown counts requests that failed after they were sent
	// (ErrOutcomeUnknown).
	Unknown int64
	// Disconnects counts lost connections to servers.
	Disconnects int64
}

// Client is a connection to one GlobalData server or several, Workerman's
// GlobalData\Client. Its methods may be called from any goroutine; the
// callbacks of the callback-style methods run on the process's event loop.
type Client struct {
	timeout    time.Duration
	tick       time.Duration
	maxPending int
	servers    []*server
	ready      chan struct{} // closed once every server has been connected
	kv         *kvRunner     // a key-value service instead of servers

	mu       sync.Mutex
	pending  map[uint64]*call // requests waiting for their reply
	nextID   uint64
	closed   bool
	sweeping bool // a timer looks for expired requests
	upOnce   int  // servers connected at least once

	requests, replies, refused, notSent, unknown, disconnects atomic.Int64
}

// server is the client's side of one server. The fields after l are
// guarded by Client.mu.
type server struct {
	addr string
	l    *link.Link

	up        bool    // connected: requests go to the link
	everUp    bool    // connected at least once
	held      []*call // requests made while down, in order
	heldBytes int
	heldDead  int // entries of held that expired or were abandoned
}

// call is one request waiting for its reply.
type call struct {
	id       uint64
	op       byte
	key      string
	srv      *server
	deadline time.Time
	frame    []byte // while held
	sent     bool   // handed to the link
	dead     bool   // held, then expired or abandoned
	// done receives the reply (valid during the call) or the failure; it
	// runs once, on the loop.
	done func(rp reply, err error)
}

// Connect creates a client on the process's event loop and starts
// connecting to the servers at the given addresses, such as
// "127.0.0.1:2207", "tcp://10.0.0.10:2207" or "unix:///run/app/global.sock"
// (none means DefaultAddress). Call it on the loop, typically in
// OnWorkerStart. It does not wait: requests made before a server is
// connected are sent once it is, or fail after Options.Timeout.
//
// The addresses may instead name NATS servers ("nats://host:4222", in one
// address separated by commas or as several) or one Redis server
// ("redis://host:6379/0", "rediss://" for TLS): see Backends in the
// package documentation.
//
// With several servers, each key lives on one of them, chosen by the
// CRC-32 (IEEE) of the key modulo the number of servers, as Workerman's
// client does; every client must list the same servers in the same order.
// opts may be nil.
func Connect(addresses []string, opts *Options) (*Client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if len(addresses) == 0 {
		addresses = []string{DefaultAddress}
	}
	c := &Client{
		timeout:    o.Timeout,
		maxPending: orDefault(o.MaxPending, 4<<20),
		ready:      make(chan struct{}),
		pending:    map[uint64]*call{},
	}
	if c.timeout <= 0 {
		c.timeout = 10 * time.Second
	}
	c.tick = min(max(c.timeout/20, 5*time.Millisecond), 100*time.Millisecond)
	scheme, url, err := storeScheme(addresses)
	if err != nil {
		return nil, fmt.Errorf("globaldata: %w", err)
	}
	if scheme != "" {
		var st store
		if scheme == "nats" {
			st, err = newNATSStore(url, len(strings.Split(url, ",")), &c.disconnects)
		} else {
			st, err = newRedisStore(url, &c.disconnects)
		}
		if err != nil {
			return nil, fmt.Errorf("globaldata: %w", err)
		}
		c.servers = []*server{{addr: url}}
		c.startStore(st)
		return c, nil
	}
	for _, a := range addresses {
		if a == "" {
			a = DefaultAddress
		}
		srv := &server{addr: a}
		l, err := link.New(link.Config{
			Address:        a,
			MaxPending:     c.maxPending,
			MaxPackageSize: orDefault(o.MaxPackageSize, 10<<20+1<<10),
			OnUp:           func() { c.onUp(srv) },
			OnDown:         func(reason string) { c.onDown(srv, reason) },
			OnFrame:        func(p []byte) { c.onFrame(srv, p) },
			Keep:           c.keep,
		})
		if err != nil {
			return nil, fmt.Errorf("globaldata: %w", err)
		}
		srv.l = l
		c.servers = append(c.servers, srv)
	}
	for _, srv := range c.servers {
		srv.l.Start()
	}
	return c, nil
}

// Dial is Connect for a plain Go program (a cron job, an admin tool, a
// test): it starts the process's event loop on a goroutine if nothing runs
// it yet (workerman.StartLoop), creates the client on it, and waits until
// every server is connected or ctx ends. Do not call it on the loop.
func Dial(ctx context.Context, addresses []string, opts *Options) (*Client, error) {
	workerman.StartLoop()
	type result struct {
		c   *Client
		err error
	}
	res := make(chan result, 1)
	workerman.Post(func() {
		c, err := Connect(addresses, opts)
		res <- result{c, err}
	})
	var r result
	select {
	case r = <-res:
	case <-ctx.Done():
		go func() {
			if r := <-res; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
	if r.err != nil {
		return nil, r.err
	}
	select {
	case <-r.c.ready:
		return r.c, nil
	case <-ctx.Done():
		r.c.Close()
		return nil, fmt.Errorf("globaldata: connecting to %v: %w", addresses, ctx.Err())
	}
}

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

// onUp hands the requests held while srv was down to its link, in order,
// on the loop. The link writes them right after this returns.
func (c *Client) onUp(srv *server) {
	var refused []*call
	c.mu.Lock()
	srv.up = true
	held := srv.held
	srv.held, srv.heldBytes, srv.heldDead = nil, 0, 0
	for _, cl := range held {
		if cl.dead {
			continue
		}
		frame := cl.frame
		cl.frame = nil
		cl.sent = true
		// c.mu is held while calling the link here, on the loop only:
		// Keep, the one path from the link's lock to c.mu, runs on the
		// loop too, after this returns.
		if srv.l.Queue(func(b []byte) []byte { return append(b, frame...) }) != nil {
			delete(c.pending, cl.id)
			refused = append(refused, cl)
		}
	}
	if !srv.everUp {
		srv.everUp = true
		c.upOnce++
		if c.upOnce == len(c.servers) {
			close(c.ready)
		}
	}
	c.mu.Unlock()
	for _, cl := range refused {
		c.refused.Add(1)
		cl.done(reply{}, fmt.Errorf("%w (%s %q on %s)", ErrQueueFull, opName(cl.op), cl.key, srv.addr))
	}
}

// onDown fails the requests sent to srv that have no reply, on the loop.
func (c *Client) onDown(srv *server, reason string) {
	c.disconnects.Add(1)
	var lost []*call
	c.mu.Lock()
	srv.up = false
	for id, cl := range c.pending {
		if cl.srv == srv && cl.sent {
			delete(c.pending, id)
			lost = append(lost, cl)
		}
	}
	c.mu.Unlock()
	slices.SortFunc(lost, byID)
	cause := errors.New(reason)
	for _, cl := range lost {
		c.failed(cl, cause)
	}
}

// onFrame delivers a reply, on the loop.
func (c *Client) onFrame(srv *server, p []byte) {
	rp, err := parseReply(p)
	if err != nil {
		workerman.Logger().Warn("globaldata: ignoring a malformed reply", "server", srv.addr, "err", err)
		return
	}
	c.mu.Lock()
	cl := c.pending[rp.id]
	if cl != nil && cl.srv == srv {
		delete(c.pending, rp.id)
	} else {
		cl = nil // answered after it failed
	}
	c.mu.Unlock()
	if cl != nil {
		c.replies.Add(1)
		cl.done(rp, nil)
	}
}

// keep tells the link whether a request frame queued while it was down
// should still be written: only if the request is still waiting.
func (c *Client) keep(frame []byte) bool {
	if len(frame) <= wire.HeaderSize+1 {
		return false
	}
	id, n := binary.Uvarint(frame[wire.HeaderSize+1:])
	if n <= 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.pending[id]
	return cl != nil && cl.sent
}

// Connected reports whether the client is connected to every server now.
func (c *Client) Connected() bool {
	if c.kv != nil {
		return c.kv.st.ready()
	}
	for _, srv := range c.servers {
		if !srv.l.Connected() {
			return false
		}
	}
	return true
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:    c.requests.Load(),
		Replies:     c.replies.Load(),
		Refused:     c.refused.Load(),
		NotSent:     c.notSent.Load(),
		Unknown:     c.unknown.Load(),
		Disconnects: c.disconnects.Load(),
	}
}

// Close ends the client. Requests still waiting fail, with ErrNotSent if
// they were not sent, ErrOutcomeUnknown if they were (both wrapping
// ErrClosed); what was already handed to a connection is still written.
// Later requests fail with ErrClosed.
func (c *Client) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	var all []*call
	for _, cl := range c.pending {
		all = append(all, cl)
	}
	c.pending = map[uint64]*call{}
	for _, srv := range c.servers {
		srv.held, srv.heldBytes, srv.heldDead = nil, 0, 0
	}
	c.mu.Unlock()
	if c.kv != nil {
		c.kv.close()
	}
	for _, srv := range c.servers {
		if srv.l != nil {
			srv.l.Close()
		}
	}
	if len(all) > 0 {
		slices.SortFunc(all, byID)
		workerman.Post(func() {
			for _, cl := range all {
				c.failed(cl, ErrClosed)
			}
		})
	}
}

// ---- the callback style ----

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

// ---- the blocking style ----

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
