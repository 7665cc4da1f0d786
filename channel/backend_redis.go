package channel

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wire"
)

// Redis names: an event is the pub/sub channel wm:e:<event>, a queue the
// list wm:q:<queue>, and each client answers counts on wm:r:<client id>.
const (
	redisEventPrefix = "wm:e:"
	redisQueuePrefix = "wm:q:"
	redisReplyPrefix = "wm:r:"
)

// redisBroker carries a Client over a Redis server: events on pub/sub,
// queues on lists (LPUSH, and BRPOP by the watchers), and counts as a
// question published on the event's channel, which tells how many
// subscribers received it, so the answer waits for exactly those.
type redisBroker struct {
	c     *Client
	rdb   *redis.Client
	ps    *redis.PubSub
	q     *opQueue
	cs    counts
	reply string // this client's answer channel

	in chan delivery // to the loop, in order

	wmu     sync.Mutex
	watched map[string]bool
	wwake   chan struct{}

	up      atomic.Bool
	upCh    chan struct{}
	closing chan struct{}
	stop    chan struct{}
	once    sync.Once
	ctx     context.Context
	cancel  context.CancelFunc
}

func newRedisBroker(c *Client, address string) (broker, error) {
	opt, err := redis.ParseURL(address)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", address, err)
	}
	opt.MaxRetries = -1 // at most once: a command is never sent twice
	opt.DialTimeout = 2 * time.Second
	opt.DialerRetries = 1 // the client waits and tries again itself
	var id [8]byte
	rand.Read(id[:])
	b := &redisBroker{
		c:       c,
		rdb:     redis.NewClient(opt),
		q:       newOpQueue(c.opts.MaxPending),
		reply:   redisReplyPrefix + hex.EncodeToString(id[:]),
		in:      make(chan delivery, 4096),
		watched: map[string]bool{},
		wwake:   make(chan struct{}, 1),
		upCh:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		stop:    make(chan struct{}),
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.ps = b.rdb.Subscribe(b.ctx) // no channel yet: nothing is sent
	go b.run()
	go b.receive()
	go b.dispatch()
	go b.watchLoop()
	return b, nil
}

func (b *redisBroker) connected() bool { return b.up.Load() }

func (b *redisBroker) subscribe(event string) error {
	return b.q.push(brokerOp{op: opSubscribe, name: event})
}

func (b *redisBroker) unsubscribe(event string) error {
	return b.q.push(brokerOp{op: opUnsubscribe, name: event})
}

func (b *redisBroker) watch(queue string) error   { return b.setWatched(queue, true) }
func (b *redisBroker) unwatch(queue string) error { return b.setWatched(queue, false) }

func (b *redisBroker) setWatched(queue string, on bool) error {
	if b.isClosing() {
		return ErrClosed
	}
	b.wmu.Lock()
	if on {
		b.watched[queue] = true
	} else {
		delete(b.watched, queue)
	}
	b.wmu.Unlock()
	select {
	case b.wwake <- struct{}{}:
	default:
	}
	return nil
}

func (b *redisBroker) send(op byte, name string, payload []byte) error {
	return b.q.push(brokerOp{op: op, name: name, payload: payload})
}

func (b *redisBroker) count(event string, fn func(Count, error)) {
	if !b.up.Load() {
		err := errors.New("channel: not connected to Redis")
		workerman.Post(func() { fn(Count{}, err) })
		return
	}
	id := b.cs.start(fn, -1)
	if err := b.q.push(brokerOp{op: opCount, name: event, id: id}); err != nil {
		b.cs.finish(id, err)
	}
}

func (b *redisBroker) isClosing() bool {
	select {
	case <-b.closing:
		return true
	default:
		return false
	}
}

func (b *redisBroker) close() {
	b.once.Do(func() {
		b.q.close()
		close(b.closing)
	})
}

// setDown records a lost connection once, and tells the application.
func (b *redisBroker) setDown(err error) {
	if b.up.Swap(false) && !b.isClosing() {
		b.c.brokerDown("connection to Redis lost: " + err.Error())
	}
}

func (b *redisBroker) setUp() {
	if b.up.Swap(true) {
		return
	}
	select {
	case b.upCh <- struct{}{}:
	default:
	}
	b.c.brokerUp()
}

// run performs the queued operations in order, then closes everything.
func (b *redisBroker) run() {
	b.ps.Subscribe(b.ctx, b.reply) // kept and sent again after reconnections, even if this fails
	for {
		ops, ok := b.q.take(nil)
		if !ok {
			break
		}
		for i := 0; i < len(ops); {
			j := i
			for j < len(ops) && (ops[j].op == opPublish || ops[j].op == opEnqueue) {
				j++
			}
			if j > i {
				b.publish(ops[i:j])
				i = j
				continue
			}
			b.do(ops[i])
			i++
		}
		b.q.done(ops)
	}
	b.cancel()
	b.ps.Close()
	b.rdb.Close()
	close(b.stop)
}

func (b *redisBroker) do(o brokerOp) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	switch o.op {
	case opSubscribe:
		// go-redis keeps the channel and subscribes again on reconnection,
		// so a failure now is repaired by the next connection.
		b.ps.Subscribe(ctx, redisEventPrefix+o.name)
	case opUnsubscribe:
		b.ps.Unsubscribe(ctx, redisEventPrefix+o.name)
	case opCount:
		ask := append([]byte{brokerCountAsk}, wire.AppendUvarint(nil, o.id)...)
		ask = append(ask, b.reply...)
		n, err := b.rdb.Publish(ctx, redisEventPrefix+o.name, ask).Result()
		if err != nil {
			b.cs.finish(o.id, fmt.Errorf("channel: %w", err))
			return
		}
		b.cs.expect(o.id, int(n))
	case opCountReply:
		b.rdb.Publish(ctx, o.name, o.payload)
	}
}

// publish sends publishes and enqueues in one pipeline. While Redis is
// unreachable (the connection cannot be made: nothing was sent) they wait
// and are tried again; a failure after they may have been sent is
// reported and they are not sent again.
func (b *redisBroker) publish(ops []brokerOp) {
	for {
		if !b.up.Load() && b.isClosing() {
			return // closed while disconnected: what waited is dropped
		}
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		_, err := b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, o := range ops {
				if o.op == opEnqueue {
					p.LPush(ctx, redisQueuePrefix+o.name, o.payload)
				} else {
					p.Publish(ctx, redisEventPrefix+o.name, o.payload)
				}
			}
			return nil
		})
		cancel()
		if err == nil {
			return
		}
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" && !b.isClosing() {
			b.setDown(err)
			select {
			case <-b.upCh:
			case <-time.After(100 * time.Millisecond):
			case <-b.closing:
			}
			continue
		}
		if b.ctx.Err() == nil {
			b.c.reportError(fmt.Errorf("channel: Redis: %d publishes may not have been sent: %w", len(ops), err))
		}
		return
	}
}

// receive reads the pub/sub connection: events, count questions and
// answers. go-redis reconnects and subscribes again after a failure; the
// subscription confirmations that follow mark the client as up.
func (b *redisBroker) receive() {
	backoff := 50 * time.Millisecond
	for {
		msg, err := b.ps.ReceiveTimeout(b.ctx, 5*time.Second)
		if b.ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Idle: make sure the connection still works.
				ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
				err = b.ps.Ping(ctx)
				cancel()
				if err == nil {
					continue
				}
			}
			b.setDown(err)
			select {
			case <-time.After(backoff):
			case <-b.stop:
				return
			}
			backoff = min(backoff*2, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			b.setUp()
		case *redis.Pong:
			b.setUp()
		case *redis.Message:
			b.setUp()
			b.message(m)
		}
	}
}

func (b *redisBroker) message(m *redis.Message) {
	p := m.Payload
	if m.Channel == b.reply {
		if id, subscribed, members, ok := parseCountReply([]byte(p)); ok {
			b.cs.answer(id, members, subscribed)
		}
		return
	}
	name, ok := strings.CutPrefix(m.Channel, redisEventPrefix)
	if !ok || len(p) == 0 {
		return
	}
	if p[0] == brokerCountAsk {
		r := wire.NewReader([]byte(p[1:]))
		id := r.Uvarint()
		to := r.Rest()
		if r.Err() != nil || !strings.HasPrefix(string(to), redisReplyPrefix) {
			return
		}
		// Every subscriber answers, subscribed or not any more, so that
		// the asker does not wait for an answer that never comes.
		subscribed, members := b.c.memberCount(name)
		b.q.push(brokerOp{op: opCountReply, name: string(to), payload: appendCountReply(nil, id, subscribed, members)})
		return
	}
	select {
	case b.in <- delivery{name: name, data: []byte(p)}:
	case <-b.stop:
	}
}

// dispatch hands deliveries to the loop in batches.
func (b *redisBroker) dispatch() {
	d := deliverer{c: b.c, stop: b.stop}
	for {
		var batch []delivery
		select {
		case m := <-b.in:
			batch = append(batch, m)
		case <-b.stop:
			return
		}
	more:
		for len(batch) < 1024 {
			select {
			case m := <-b.in:
				batch = append(batch, m)
			default:
				break more
			}
		}
		d.run(batch)
	}
}

// watchLoop takes items from the watched queues' lists with BRPOP, one at
// a time. An item taken for a queue no longer watched goes back to the
// end it was taken from.
func (b *redisBroker) watchLoop() {
	backoff := 50 * time.Millisecond
	for {
		b.wmu.Lock()
		keys := make([]string, 0, len(b.watched))
		for q := range b.watched {
			keys = append(keys, redisQueuePrefix+q)
		}
		b.wmu.Unlock()
		if len(keys) == 0 {
			select {
			case <-b.wwake:
				continue
			case <-b.stop:
				return
			}
		}
		res, err := b.rdb.BRPop(b.ctx, time.Second, keys...).Result()
		if b.ctx.Err() != nil {
			return
		}
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			select {
			case <-time.After(backoff):
			case <-b.stop:
				return
			}
			backoff = min(backoff*2, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		queue := strings.TrimPrefix(res[0], redisQueuePrefix)
		b.wmu.Lock()
		still := b.watched[queue]
		b.wmu.Unlock()
		if !still {
			ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
			b.rdb.RPush(ctx, res[0], res[1])
			cancel()
			continue
		}
		select {
		case b.in <- delivery{job: true, name: queue, data: []byte(res[1])}:
		case <-b.stop:
			return
		}
	}
}
