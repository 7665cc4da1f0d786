package globaldata

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
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
