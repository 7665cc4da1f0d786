package channel

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/counters"
	"github.com/workerman-go/workerman/internal/link"
	"github.com/workerman-go/workerman/internal/wire"
)

// Errors a Client returns.
var (
	// ErrQueueFull is returned when the client's queue of unsent frames
	// holds Options.MaxPending bytes, because the server is unreachable or
	// slower than the publisher. The publish did not happen.
	ErrQueueFull = errors.New("channel: client queue full (server unreachable or slow); not sent")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("channel: client closed")
)

// Options tune a Client. The zero value is ready to use.
type Options struct {
	// MaxPending bounds the bytes of frames waiting to be sent, while the
	// server is unreachable or slow; 0 means 4 MiB.
	MaxPending int
	// MaxPackageSize bounds one frame received from the server, and one
	// sent: a Publish or Enqueue whose frame would be larger is refused
	// (a server with the same limit would disconnect the client for it).
	// 0 means 10 MiB, the server's default.
	MaxPackageSize int
	// OnConnect runs on the loop each time the client is connected (again);
	// subscriptions have been sent by then.
	OnConnect func()
	// OnDisconnect runs on the loop when the connection is lost; events
	// published meanwhile are not delivered to this client.
	OnDisconnect func(reason string)
	// OnError receives what the server reports, such as an item refused by
	// a full queue, and on NATS or Redis the broker's errors, such as
	// events dropped for a slow subscriber or an item enqueued with no
	// watcher. Nil logs it.
	OnError func(err error)
}

// Stats are a client's counters since it was created.
type Stats struct {
	// Published counts events and queue items accepted for sending.
	Published int64
	// Refused counts publishes refused with ErrQueueFull.
	Refused int64
	// Received counts events and queue items delivered to callbacks.
	Received int64
	// Disconnects counts lost connections.
	Disconnects int64
	// ServerErrors counts errors the server reported.
	ServerErrors int64
}

// Client is a connection to a Channel server, Workerman's Channel\Client.
// Its methods may be called from any goroutine; its callbacks run on the
// process's event loop. The methods that send something (On, SetMembers,
// Unsubscribe, Publish, Enqueue, Watch, Unwatch) return at once; when one
// returns an error (ErrQueueFull, ErrClosed, data that cannot be encoded)
// nothing changed, and the call may be made again.
type Client struct {
	opts Options
	l    *link.Link // to a Channel server, or
	b    broker     // to NATS or Redis

	mu       sync.Mutex
	handlers map[string]func(Data)
	members  map[string]int
	watchers map[string]func(Data)
	counts   map[uint64]func(Count, error)
	nextID   uint64

	published, refused, received, disconnects, serverErrors atomic.Int64
}

// Count is what the server knows of an event's subscribers.
type Count struct {
	// Subscribers is the number of clients subscribed.
	Subscribers int
	// Members is the sum of the member counts the subscribers announced
	// with SetMembers.
	Members int
}

// Connect creates a client on the process's event loop and starts
// connecting to a server at an address such as "127.0.0.1:2206" or
// "unix:///run/app/channel.sock" ("" means DefaultAddress). Call it on the
// loop, typically in OnWorkerStart. It does not wait: subscriptions and
// publishes made before the connection is up are sent once it is. opts may
// be nil.
//
// The address may name a broker instead of a Channel server (see Backends
// in the package documentation): "nats://host:4222", or several servers
// of a NATS cluster separated by commas, or "redis://host:6379/0"
// ("rediss://" for TLS). User and password go in the URL.
func Connect(address string, opts *Options) (*Client, error) {
	if address == "" {
		address = DefaultAddress
	}
	c := &Client{
		handlers: map[string]func(Data){},
		members:  map[string]int{},
		watchers: map[string]func(Data){},
		counts:   map[uint64]func(Count, error){},
	}
	if opts != nil {
		c.opts = *opts
	}
	if scheme := brokerScheme(address); scheme != "" {
		var err error
		if scheme == "nats" {
			c.b, err = newNATSBroker(c, address)
		} else {
			c.b, err = newRedisBroker(c, address)
		}
		if err != nil {
			return nil, fmt.Errorf("channel: %w", err)
		}
		return c, nil
	}
	l, err := link.New(link.Config{
		Address:        address,
		MaxPending:     c.opts.MaxPending,
		MaxPackageSize: c.opts.MaxPackageSize,
		OnUp:           c.onUp,
		OnDown:         c.onDown,
		OnFrame:        c.onFrame,
	})
	if err != nil {
		return nil, fmt.Errorf("channel: %w", err)
	}
	c.l = l
	l.Start()
	return c, nil
}

// Dial is Connect for a plain Go program: it starts the process's event
// loop on a goroutine if nothing runs it yet (workerman.StartLoop), creates
// the client on it, and waits until it is connected or ctx ends. Callbacks
// then run on the loop's goroutine.
func Dial(ctx context.Context, address string, opts *Options) (*Client, error) {
	workerman.StartLoop()
	type result struct {
		c   *Client
		err error
	}
	up := make(chan struct{}, 1)
	res := make(chan result, 1)
	var o Options
	if opts != nil {
		o = *opts
	}
	user := o.OnConnect
	o.OnConnect = func() {
		select {
		case up <- struct{}{}:
		default:
		}
		if user != nil {
			user()
		}
	}
	workerman.Post(func() {
		c, err := Connect(address, &o)
		res <- result{c, err}
	})
	var r result
	select {
	case r = <-res:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if r.err != nil {
		return nil, r.err
	}
	select {
	case <-up:
		return r.c, nil
	case <-ctx.Done():
		r.c.Close()
		return nil, fmt.Errorf("channel: connecting to %s: %w", address, ctx.Err())
	}
}

// onUp sends the subscriptions again on a new connection.
func (c *Client) onUp() {
	var b []byte
	c.mu.Lock()
	for ev := range c.handlers {
		b = appendSubscribe(b, ev, c.members[ev])
	}
	for q := range c.watchers {
		b = appendName(b, opWatch, q)
	}
	c.mu.Unlock()
	if len(b) > 0 {
		c.l.Write(b)
	}
	if c.opts.OnConnect != nil {
		c.opts.OnConnect()
	}
}

func (c *Client) onDown(reason string) {
	c.disconnects.Add(1)
	c.mu.Lock()
	counts := c.counts
	c.counts = map[uint64]func(Count, error){}
	c.mu.Unlock()
	for _, fn := range counts {
		fn(Count{}, errors.New("channel: "+reason))
	}
	if c.opts.OnDisconnect != nil {
		c.opts.OnDisconnect(reason)
	}
}

func (c *Client) onFrame(p []byte) {
	if len(p) == 0 {
		return
	}
	r := wire.NewReader(p[1:])
	switch p[0] {
	case opMessage, opJob:
		name := r.Bytes()
		rest := r.Rest()
		if r.Err() != nil || len(rest) < 1 {
			return
		}
		c.mu.Lock()
		var fn func(Data)
		if p[0] == opMessage {
			fn = c.handlers[string(name)]
		} else {
			fn = c.watchers[string(name)]
		}
		c.mu.Unlock()
		if fn != nil {
			c.received.Add(1)
			counters.ChannelDelivered.Add(1)
			fn(Data{kind: Kind(rest[0]), b: rest[1:]})
		}
	case opCountReply:
		id := r.Uvarint()
		subs := r.Uvarint()
		members := r.Uvarint()
		if r.Done() != nil {
			return
		}
		c.mu.Lock()
		fn := c.counts[id]
		delete(c.counts, id)
		c.mu.Unlock()
		if fn != nil {
			fn(Count{Subscribers: int(subs), Members: int(members)}, nil)
		}
	case opError:
		msg := r.Bytes()
		c.serverErrors.Add(1)
		counters.ChannelErrors.Add(1)
		err := errors.New(string(msg))
		if c.opts.OnError != nil {
			c.opts.OnError(err)
		} else {
			workerman.Logger().Error("channel server reported an error", "err", err)
		}
	}
}

func appendName(b []byte, op byte, name string) []byte {
	b, start := wire.Begin(b)
	b = append(b, op)
	b = wire.AppendString(b, name)
	return wire.End(b, start)
}

func appendSubscribe(b []byte, ev string, members int) []byte {
	b, start := wire.Begin(b)
	b = append(b, opSubscribe)
	b = wire.AppendString(b, ev)
	b = wire.AppendUvarint(b, uint64(members))
	return wire.End(b, start)
}

// brokerErr maps a broker's refusal to the package's errors.
func (c *Client) brokerErr(err error) error {
	if err == errBrokerFull {
		c.refused.Add(1)
		return ErrQueueFull
	}
	return err
}

// queue adds a frame, mapping the link's errors to the package's.
func (c *Client) queue(build func(b []byte) []byte) error {
	switch err := c.l.Queue(build); err {
	case nil:
		return nil
	case link.ErrFull:
		c.refused.Add(1)
		return ErrQueueFull
	case link.ErrClosed:
		return ErrClosed
	default:
		return err
	}
}

// On subscribes to an event: fn runs on the loop for each event published
// under that name from now on. A second On for the same event replaces the
// callback, as in Workerman.
func (c *Client) On(event string, fn func(Data)) error {
	if fn == nil {
		return errors.New("channel: On needs a callback")
	}
	c.mu.Lock()
	_, had := c.handlers[event]
	c.handlers[event] = fn
	members := c.members[event]
	c.mu.Unlock()
	if had {
		return nil
	}
	var err error
	if c.b != nil {
		err = c.brokerErr(c.b.subscribe(event))
	} else {
		err = c.queue(func(b []byte) []byte { return appendSubscribe(b, event, members) })
	}
	if err != nil {
		// Not subscribed: leave no callback that a reconnect would
		// subscribe, or that a retried On would take for a subscription.
		c.mu.Lock()
		delete(c.handlers, event)
		c.mu.Unlock()
	}
	return err
}

// SetMembers announces how many members (users, connections) of this
// process stand behind its subscription to event, so that Count can add
// them up across clients. It needs a subscription made with On; the server
// forgets the number when this client disconnects or unsubscribes.
func (c *Client) SetMembers(event string, n int) error {
	if n < 0 {
		return errors.New("channel: SetMembers with a negative count")
	}
	c.mu.Lock()
	if _, ok := c.handlers[event]; !ok {
		c.mu.Unlock()
		return fmt.Errorf("channel: SetMembers(%q): not subscribed", event)
	}
	old, hadMembers := c.members[event]
	c.members[event] = n
	c.mu.Unlock()
	if c.b != nil {
		return nil // the answers to counts read it
	}
	err := c.queue(func(b []byte) []byte { return appendSubscribe(b, event, n) })
	if err != nil {
		c.mu.Lock()
		if _, ok := c.handlers[event]; ok && c.members[event] == n {
			if hadMembers {
				c.members[event] = old
			} else {
				delete(c.members, event)
			}
		}
		c.mu.Unlock()
	}
	return err
}

// Unsubscribe stops the event's callback, Workerman's unsubscribe.
func (c *Client) Unsubscribe(event string) error {
	c.mu.Lock()
	fn, had := c.handlers[event]
	members, hadMembers := c.members[event]
	delete(c.handlers, event)
	delete(c.members, event)
	c.mu.Unlock()
	if !had {
		return nil
	}
	var err error
	if c.b != nil {
		err = c.brokerErr(c.b.unsubscribe(event))
	} else {
		err = c.queue(func(b []byte) []byte { return appendName(b, opUnsubscribe, event) })
	}
	if err != nil {
		// Still subscribed on the server: keep the callback, so that a
		// retried Unsubscribe sends the request.
		c.mu.Lock()
		if _, ok := c.handlers[event]; !ok {
			c.handlers[event] = fn
			if hadMembers {
				c.members[event] = members
			}
		}
		c.mu.Unlock()
	}
	return err
}

// Publish sends an event to every subscriber (this client too, if it is
// subscribed), Workerman's publish. data is a []byte, a string or any
// JSON-encodable value. It returns at once; an error means the event was
// not sent (it cannot be encoded, its frame is over
// Options.MaxPackageSize, the queue is full, or the client is closed).
func (c *Client) Publish(event string, data any) error {
	return c.send(opPublish, event, data)
}

// Enqueue adds an item to a queue: exactly one of the queue's watchers
// receives it, in turn; the server keeps it while nobody watches.
func (c *Client) Enqueue(queue string, data any) error {
	return c.send(opEnqueue, queue, data)
}

// maxFrame is the largest frame the client sends.
func (c *Client) maxFrame() int {
	if c.opts.MaxPackageSize > 0 {
		return c.opts.MaxPackageSize
	}
	return 10 << 20
}

func (c *Client) send(op byte, name string, data any) error {
	if c.b != nil {
		p, err := appendData(nil, data)
		if err != nil {
			return err
		}
		if len(p)+len(name) > c.maxFrame() {
			return fmt.Errorf("channel: a %d-byte message is over MaxPackageSize (%d bytes); not sent", len(p)+len(name), c.maxFrame())
		}
		if err := c.brokerErr(c.b.send(op, name, p)); err != nil {
			return err
		}
		c.published.Add(1)
		return nil
	}
	var encErr error
	err := c.queue(func(b []byte) []byte {
		b, start := wire.Begin(b)
		b = append(b, op)
		b = wire.AppendString(b, name)
		b, encErr = appendData(b, data)
		if encErr != nil {
			return b[:start]
		}
		if n := len(b) - start; n > c.maxFrame() {
			encErr = fmt.Errorf("channel: a %d-byte frame is over MaxPackageSize (%d bytes); not sent", n, c.maxFrame())
			return b[:start]
		}
		return wire.End(b, start)
	})
	if encErr != nil {
		return encErr
	}
	if err == nil {
		c.published.Add(1)
		counters.ChannelPublished.Add(1)
	} else {
		counters.ChannelErrors.Add(1)
	}
	return err
}

// Watch takes items from a queue: fn runs on the loop for each item this
// client is given. A second Watch replaces the callback.
func (c *Client) Watch(queue string, fn func(Data)) error {
	if fn == nil {
		return errors.New("channel: Watch needs a callback")
	}
	c.mu.Lock()
	_, had := c.watchers[queue]
	c.watchers[queue] = fn
	c.mu.Unlock()
	if had {
		return nil
	}
	var err error
	if c.b != nil {
		err = c.brokerErr(c.b.watch(queue))
	} else {
		err = c.queue(func(b []byte) []byte { return appendName(b, opWatch, queue) })
	}
	if err != nil {
		c.mu.Lock()
		delete(c.watchers, queue)
		c.mu.Unlock()
	}
	return err
}

// Unwatch stops taking items from a queue.
func (c *Client) Unwatch(queue string) error {
	c.mu.Lock()
	fn, had := c.watchers[queue]
	delete(c.watchers, queue)
	c.mu.Unlock()
	if !had {
		return nil
	}
	var err error
	if c.b != nil {
		err = c.brokerErr(c.b.unwatch(queue))
	} else {
		err = c.queue(func(b []byte) []byte { return appendName(b, opUnwatch, queue) })
	}
	if err != nil {
		c.mu.Lock()
		if _, ok := c.watchers[queue]; !ok {
			c.watchers[queue] = fn
		}
		c.mu.Unlock()
	}
	return err
}

// Count asks the server how many clients subscribe to event and how many
// members they announced; fn runs on the loop with the answer, or with an
// error if the connection is lost first.
func (c *Client) Count(event string, fn func(Count, error)) {
	if c.b != nil {
		c.b.count(event, fn)
		return
	}
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.counts[id] = fn
	c.mu.Unlock()
	err := c.queue(func(b []byte) []byte {
		b, start := wire.Begin(b)
		b = append(b, opCount)
		b = wire.AppendUvarint(b, id)
		b = wire.AppendString(b, event)
		return wire.End(b, start)
	})
	if err != nil {
		c.mu.Lock()
		delete(c.counts, id)
		c.mu.Unlock()
		workerman.Post(func() { fn(Count{}, err) })
	}
}

// CountContext is Count for a goroutine that is not the loop: it waits for
// the answer or for ctx. Never call it from a callback: the loop would wait
// for itself.
func (c *Client) CountContext(ctx context.Context, event string) (Count, error) {
	type answer struct {
		n   Count
		err error
	}
	ch := make(chan answer, 1)
	c.Count(event, func(n Count, err error) { ch <- answer{n, err} })
	select {
	case a := <-ch:
		return a.n, a.err
	case <-ctx.Done():
		return Count{}, ctx.Err()
	}
}

// Connected reports whether the client is connected now.
func (c *Client) Connected() bool {
	if c.b != nil {
		return c.b.connected()
	}
	return c.l.Connected()
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		Published:    c.published.Load(),
		Refused:      c.refused.Load(),
		Received:     c.received.Load(),
		Disconnects:  c.disconnects.Load(),
		ServerErrors: c.serverErrors.Load(),
	}
}

// Close ends the client once what it queued has been written; later calls
// return ErrClosed.
func (c *Client) Close() {
	if c.b != nil {
		c.b.close()
		return
	}
	c.l.Close()
}
