package channel

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/workerman-go/workerman"
)

// NATS subjects: an event is wm.e.<name>, a queue wm.q.<name>, the name
// escaped into one subject token (escapeToken).
const (
	natsEventPrefix = "wm.e."
	natsQueuePrefix = "wm.q."
	natsQueueGroup  = "watchers"
)

// natsBroker carries a Client over a NATS server or cluster: events on
// core subjects, queues on queue-group subscriptions, and counts as a
// question on the event's subject that every subscriber answers.
type natsBroker struct {
	c    *Client
	urls string
	q    *opQueue
	cs   counts

	inbox string
	msgs  chan *nats.Msg // events and queue items
	ctl   chan *nats.Msg // answers to this client's questions

	up      atomic.Bool
	upCh    chan struct{} // a signal after each (re)connection
	closing chan struct{} // closed by close
	stop    chan struct{} // closed when the connection is closed
	once    sync.Once

	// sending goroutine only
	nc   *nats.Conn
	subs map[string]*nats.Subscription
}

// natsOptions are the nats.go settings a component client uses: retry
// for ever, fail over quickly to another server of the cluster, notice a
// dead server within a few seconds, and keep no hidden reconnect buffer
// (the client's own queue bounds what waits).
func natsOptions(name string) []nats.Option {
	return []nats.Option{
		nats.Name(name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.ReconnectJitter(50*time.Millisecond, 50*time.Millisecond),
		nats.ReconnectBufSize(-1),
		nats.Timeout(2 * time.Second),
		nats.PingInterval(2 * time.Second),
		nats.MaxPingsOutstanding(2),
	}
}

func newNATSBroker(c *Client, address string) (*natsBroker, error) {
	for _, u := range strings.Split(address, ",") {
		if !strings.HasPrefix(strings.TrimSpace(u), "nats://") {
			return nil, fmt.Errorf("address %q: want nats://host:port[,nats://host:port...]", address)
		}
	}
	b := &natsBroker{
		c:       c,
		urls:    address,
		q:       newOpQueue(c.opts.MaxPending),
		inbox:   nats.NewInbox(),
		msgs:    make(chan *nats.Msg, 64<<10),
		ctl:     make(chan *nats.Msg, 4<<10),
		upCh:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		stop:    make(chan struct{}),
		subs:    map[string]*nats.Subscription{},
	}
	go b.run()
	return b, nil
}

func (b *natsBroker) connected() bool { return b.up.Load() }

func (b *natsBroker) subscribe(event string) error {
	return b.q.push(brokerOp{op: opSubscribe, name: event})
}

func (b *natsBroker) unsubscribe(event string) error {
	return b.q.push(brokerOp{op: opUnsubscribe, name: event})
}

func (b *natsBroker) watch(queue string) error {
	return b.q.push(brokerOp{op: opWatch, name: queue})
}

func (b *natsBroker) unwatch(queue string) error {
	return b.q.push(brokerOp{op: opUnwatch, name: queue})
}

func (b *natsBroker) send(op byte, name string, payload []byte) error {
	return b.q.push(brokerOp{op: op, name: name, payload: payload})
}

func (b *natsBroker) count(event string, fn func(Count, error)) {
	if !b.up.Load() {
		err := errors.New("channel: not connected to NATS")
		workerman.Post(func() { fn(Count{}, err) })
		return
	}
	id := b.cs.start(fn, -1)
	if err := b.q.push(brokerOp{op: opCount, name: event, id: id}); err != nil {
		b.cs.finish(id, err)
	}
}

func (b *natsBroker) close() {
	b.once.Do(func() {
		b.q.close()
		close(b.closing)
	})
}

func (b *natsBroker) isClosing() bool {
	select {
	case <-b.closing:
		return true
	default:
		return false
	}
}

func (b *natsBroker) setUp() {
	if b.up.Swap(true) {
		return // the connection was already reported
	}
	select {
	case b.upCh <- struct{}{}:
	default:
	}
	b.c.brokerUp()
}

// run connects, then performs the queued operations in order.
func (b *natsBroker) run() {
	opts := append(natsOptions("workerman channel"),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if !b.up.Swap(false) || b.isClosing() {
				return
			}
			reason := "connection to NATS lost"
			if err != nil {
				reason += ": " + err.Error()
			}
			b.c.brokerDown(reason)
		}),
		nats.ReconnectHandler(func(*nats.Conn) { b.setUp() }),
		nats.ConnectHandler(func(*nats.Conn) { b.setUp() }),
		nats.ClosedHandler(func(*nats.Conn) { b.up.Store(false) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) {
				err = errors.New("channel: events dropped: this client did not keep up with NATS (slow consumer)")
			}
			b.c.reportError(err)
		}),
	)
	nc, err := nats.Connect(b.urls, opts...)
	if err != nil {
		b.c.reportError(fmt.Errorf("channel: NATS %s: %w", b.urls, err))
		close(b.stop)
		return
	}
	b.nc = nc
	if nc.IsConnected() {
		b.setUp()
	}
	if _, err := nc.ChanSubscribe(b.inbox+".>", b.ctl); err != nil {
		b.c.reportError(fmt.Errorf("channel: NATS inbox: %w", err))
	}
	go b.readEvents()
	go b.readAnswers()
	for {
		ops, ok := b.q.take(nil)
		if !ok {
			break
		}
		for _, o := range ops {
			b.do(o)
		}
		b.q.done(ops)
	}
	if b.up.Load() {
		nc.FlushTimeout(2 * time.Second)
	}
	nc.Close()
	close(b.stop)
}

// waitUp waits until the connection is up; false means the client closed
// while it was down.
func (b *natsBroker) waitUp() bool {
	for !b.up.Load() {
		select {
		case <-b.upCh:
		case <-b.closing:
			return b.up.Load()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return true
}

// do performs one operation, on the sending goroutine.
func (b *natsBroker) do(o brokerOp) {
	switch o.op {
	case opSubscribe, opWatch:
		key, subject := b.key(o.op, o.name)
		if b.subs[key] != nil {
			return
		}
		var sub *nats.Subscription
		var err error
		if o.op == opWatch {
			sub, err = b.nc.ChanQueueSubscribe(subject, natsQueueGroup, b.msgs)
		} else {
			sub, err = b.nc.ChanSubscribe(subject, b.msgs)
		}
		if err != nil {
			b.c.reportError(fmt.Errorf("channel: NATS subscribe %s: %w", subject, err))
			return
		}
		b.subs[key] = sub
	case opUnsubscribe, opUnwatch:
		key, _ := b.key(o.op, o.name)
		if sub := b.subs[key]; sub != nil {
			sub.Unsubscribe()
			delete(b.subs, key)
		}
	case opPublish, opEnqueue:
		m := &nats.Msg{Subject: natsEventPrefix + escapeToken(o.name), Data: o.payload}
		if o.op == opEnqueue {
			m.Subject = natsQueuePrefix + escapeToken(o.name)
			// No watcher: the server answers 503 on this inbox.
			m.Reply = b.inbox + ".q." + escapeToken(o.name)
		}
		b.publish(m)
	case opCount:
		if !b.up.Load() {
			b.cs.finish(o.id, errors.New("channel: not connected to NATS"))
			return
		}
		m := &nats.Msg{Subject: natsEventPrefix + escapeToken(o.name), Reply: b.inbox + ".c." + strconv.FormatUint(o.id, 10), Data: []byte{brokerCountAsk}}
		if err := b.nc.PublishMsg(m); err != nil {
			b.cs.finish(o.id, fmt.Errorf("channel: %w", err))
		}
	case opCountReply:
		b.nc.Publish(o.name, o.payload) // an answer lost with the connection is a missing answer
	}
}

// publish sends m, waiting while the connection is down: an event is sent
// once, after the reconnection, never twice.
func (b *natsBroker) publish(m *nats.Msg) {
	for {
		if !b.waitUp() {
			return // closed while disconnected: what waited is dropped
		}
		err := b.nc.PublishMsg(m)
		switch {
		case err == nil:
			return
		case errors.Is(err, nats.ErrReconnectBufExceeded), errors.Is(err, nats.ErrConnectionReconnecting):
			b.up.Store(false) // the handler that says so may not have run yet
			continue
		case errors.Is(err, nats.ErrConnectionClosed):
			return
		default:
			b.c.reportError(fmt.Errorf("channel: NATS publish to %s: %w", m.Subject, err))
			return
		}
	}
}

func (b *natsBroker) key(op byte, name string) (key, subject string) {
	if op == opWatch || op == opUnwatch {
		return "q" + name, natsQueuePrefix + escapeToken(name)
	}
	return "e" + name, natsEventPrefix + escapeToken(name)
}

// readEvents hands received events and items to the loop, and answers
// count questions.
func (b *natsBroker) readEvents() {
	d := deliverer{c: b.c, stop: b.stop}
	var batch []delivery
	for {
		select {
		case m := <-b.msgs:
			batch = b.take(batch, m)
		case <-b.stop:
			return
		}
	more:
		for len(batch) < 1024 {
			select {
			case m := <-b.msgs:
				batch = b.take(batch, m)
			default:
				break more
			}
		}
		if len(batch) > 0 {
			d.run(batch)
			batch = nil
		}
	}
}

func (b *natsBroker) take(batch []delivery, m *nats.Msg) []delivery {
	job := strings.HasPrefix(m.Subject, natsQueuePrefix)
	var name string
	var ok bool
	if job {
		name, ok = unescapeToken(m.Subject[len(natsQueuePrefix):])
	} else if strings.HasPrefix(m.Subject, natsEventPrefix) {
		name, ok = unescapeToken(m.Subject[len(natsEventPrefix):])
	}
	if !ok || len(m.Data) == 0 {
		return batch
	}
	if m.Data[0] == brokerCountAsk {
		if m.Reply == "" || job {
			return batch
		}
		if subscribed, members := b.c.memberCount(name); subscribed {
			id, _ := strconv.ParseUint(m.Reply[strings.LastIndexByte(m.Reply, '.')+1:], 10, 64)
			b.q.push(brokerOp{op: opCountReply, name: m.Reply, payload: appendCountReply(nil, id, true, members)})
		}
		return batch
	}
	return append(batch, delivery{job: job, name: name, data: m.Data})
}

// readAnswers takes the answers to counts, and the server's "no
// responders" notices for counts and queue items.
func (b *natsBroker) readAnswers() {
	for {
		var m *nats.Msg
		select {
		case m = <-b.ctl:
		case <-b.stop:
			return
		}
		rest := strings.TrimPrefix(m.Subject, b.inbox+".")
		noResponders := len(m.Data) == 0 && m.Header.Get("Status") == "503"
		switch {
		case strings.HasPrefix(rest, "c."):
			id, err := strconv.ParseUint(rest[2:], 10, 64)
			if err != nil {
				continue
			}
			if noResponders {
				b.cs.finish(id, nil) // nobody subscribes
				continue
			}
			if rid, subscribed, members, ok := parseCountReply(m.Data); ok && rid == id {
				b.cs.answer(id, members, subscribed)
			}
		case strings.HasPrefix(rest, "q.") && noResponders:
			name, _ := unescapeToken(rest[2:])
			b.c.reportError(fmt.Errorf("channel: queue %q has no watcher; an item enqueued to it was dropped", name))
		}
	}
}

// escapeToken turns a name into one NATS subject token: letters, digits,
// '-' and '_' stay, every other byte becomes %XX; "" becomes "%".
func escapeToken(name string) string {
	if name == "" {
		return "%"
	}
	safe := true
	for i := 0; i < len(name); i++ {
		if !tokenSafe(name[i]) {
			safe = false
			break
		}
	}
	if safe {
		return name
	}
	const hex = "0123456789ABCDEF"
	var sb strings.Builder
	sb.Grow(len(name) * 2)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if tokenSafe(c) {
			sb.WriteByte(c)
		} else {
			sb.WriteByte('%')
			sb.WriteByte(hex[c>>4])
			sb.WriteByte(hex[c&15])
		}
	}
	return sb.String()
}

func tokenSafe(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// unescapeToken reverses escapeToken.
func unescapeToken(tok string) (string, bool) {
	if tok == "%" {
		return "", true
	}
	if !strings.Contains(tok, "%") {
		return tok, true
	}
	var sb strings.Builder
	for i := 0; i < len(tok); i++ {
		if tok[i] != '%' {
			sb.WriteByte(tok[i])
			continue
		}
		if i+2 >= len(tok) {
			return "", false
		}
		v, err := strconv.ParseUint(tok[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		sb.WriteByte(byte(v))
		i += 2
	}
	return sb.String(), true
}
