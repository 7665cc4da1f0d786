package channel

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wire"
)

// broker is a Client's link to an external message broker (NATS, Redis)
// instead of a Channel server. Its methods are called from any goroutine
// and never wait for the network: they queue the operation for the
// broker's own goroutines, in order.
type broker interface {
	// subscribe and unsubscribe start and stop receiving an event.
	subscribe(event string) error
	unsubscribe(event string) error
	// watch and unwatch start and stop taking items from a queue.
	watch(queue string) error
	unwatch(queue string) error
	// send publishes an event (opPublish) or enqueues an item (opEnqueue);
	// payload is the kind byte and the data.
	send(op byte, name string, payload []byte) error
	// count gathers the subscribers' answers; fn runs on the loop.
	count(event string, fn func(Count, error))
	connected() bool
	close()
}

// brokerScheme reports whether address names a broker rather than a
// Channel server.
func brokerScheme(address string) string {
	scheme, _, ok := strings.Cut(address, "://")
	if !ok {
		return ""
	}
	switch scheme {
	case "nats", "redis", "rediss":
		return scheme
	}
	return ""
}

// Payload bytes on a broker: an event or item is its kind byte (0, 1, 2)
// and the data; the other first bytes are the count protocol.
const (
	brokerCountAsk   = 'C'
	brokerCountReply = 'c'
)

// countTimes bound the gathering of a count's answers: the answer is
// given when every expected subscriber answered, or countQuiet after the
// last answer, and at the latest countMax after the question.
const (
	countQuiet = 50 * time.Millisecond
	countMax   = time.Second
)

// brokerOp is one operation waiting for a broker's sending goroutine.
type brokerOp struct {
	op      byte // opPublish, opEnqueue, opSubscribe, opUnsubscribe, opWatch, opUnwatch, opCount, opCountReply
	name    string
	payload []byte
	id      uint64
}

// opQueue holds the operations waiting to be sent, in order. Publishes
// and enqueues count against max bytes; the others (few, one per
// subscription change) are always taken, so that the subscriptions follow
// the application's calls.
type opQueue struct {
	mu     sync.Mutex
	ops    []brokerOp
	bytes  int
	max    int
	closed bool
	wake   chan struct{}
}

func newOpQueue(max int) *opQueue {
	if max <= 0 {
		max = 4 << 20
	}
	return &opQueue{max: max, wake: make(chan struct{}, 1)}
}

var errBrokerFull = errors.New("full")

// push adds an operation; a publish over the byte bound is refused with
// errBrokerFull, any operation after close with ErrClosed.
func (q *opQueue) push(o brokerOp) error {
	n := len(o.name) + len(o.payload)
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	if (o.op == opPublish || o.op == opEnqueue) && q.bytes > 0 && q.bytes+n > q.max {
		q.mu.Unlock()
		return errBrokerFull
	}
	q.ops = append(q.ops, o)
	q.bytes += n
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// take waits for operations and returns them all; ok is false once the
// queue is closed and empty.
func (q *opQueue) take(stop <-chan struct{}) (ops []brokerOp, ok bool) {
	for {
		q.mu.Lock()
		if len(q.ops) > 0 {
			ops = q.ops
			q.ops = nil
			q.mu.Unlock()
			return ops, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return nil, false
		}
		select {
		case <-q.wake:
		case <-stop:
			return nil, false
		}
	}
}

// done releases the bytes of sent (or dropped) operations.
func (q *opQueue) done(ops []brokerOp) {
	n := 0
	for _, o := range ops {
		n += len(o.name) + len(o.payload)
	}
	q.mu.Lock()
	q.bytes -= n
	q.mu.Unlock()
}

// close refuses later operations; those queued are still taken.
func (q *opQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// delivery is one event or queue item received from a broker.
type delivery struct {
	job  bool
	name string
	data []byte // kind byte and data
}

// deliverer hands deliveries to the loop in batches, one batch at a time:
// while the loop has not run a batch, the next one grows, and the broker
// client's own buffer fills behind it (it reports what it then drops).
type deliverer struct {
	c    *Client
	stop <-chan struct{}
}

// run posts batch to the loop and waits until the loop has run it.
func (d deliverer) run(batch []delivery) {
	done := make(chan struct{})
	workerman.Post(func() {
		d.c.deliver(batch)
		close(done)
	})
	select {
	case <-done:
	case <-d.stop:
	}
}

// deliver runs the callbacks of a batch, on the loop.
func (c *Client) deliver(batch []delivery) {
	for _, m := range batch {
		if len(m.data) < 1 || m.data[0] > byte(KindJSON) {
			continue
		}
		c.mu.Lock()
		var fn func(Data)
		if m.job {
			fn = c.watchers[m.name]
		} else {
			fn = c.handlers[m.name]
		}
		c.mu.Unlock()
		if fn != nil {
			c.received.Add(1)
			fn(Data{kind: Kind(m.data[0]), b: m.data[1:]})
		}
	}
}

// memberCount is what this client answers to a count of event: whether it
// subscribes, and the members it announced.
func (c *Client) memberCount(event string) (subscribed bool, members int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, subscribed = c.handlers[event]
	return subscribed, c.members[event]
}

// reportError hands a broker's error to Options.OnError on the loop.
func (c *Client) reportError(err error) {
	c.serverErrors.Add(1)
	workerman.Post(func() {
		if c.opts.OnError != nil {
			c.opts.OnError(err)
		} else {
			workerman.Logger().Error("channel broker reported an error", "err", err)
		}
	})
}

// brokerUp and brokerDown run OnConnect and OnDisconnect on the loop.
func (c *Client) brokerUp() {
	workerman.Post(func() {
		if c.opts.OnConnect != nil {
			c.opts.OnConnect()
		}
	})
}

func (c *Client) brokerDown(reason string) {
	c.disconnects.Add(1)
	workerman.Post(func() {
		if c.opts.OnDisconnect != nil {
			c.opts.OnDisconnect(reason)
		}
	})
}

// counts gathers the answers to a client's count questions.
type counts struct {
	mu     sync.Mutex
	nextID uint64
	wait   map[uint64]*countWait
}

type countWait struct {
	fn      func(Count, error)
	n       Count
	answers int
	expect  int // answers expected, or -1 when unknown
	timer   *time.Timer
	started time.Time
}

// start registers a question; expect is -1 when the number of answers is
// not known in advance.
func (cs *counts) start(fn func(Count, error), expect int) uint64 {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.wait == nil {
		cs.wait = map[uint64]*countWait{}
	}
	cs.nextID++
	id := cs.nextID
	w := &countWait{fn: fn, expect: expect, started: time.Now()}
	w.timer = time.AfterFunc(countMax, func() { cs.finish(id, nil) })
	cs.wait[id] = w
	return id
}

// expect sets the number of answers to wait for, once known.
func (cs *counts) expect(id uint64, n int) {
	cs.mu.Lock()
	w := cs.wait[id]
	complete := false
	if w != nil {
		w.expect = n
		complete = w.answers >= n
	}
	cs.mu.Unlock()
	if complete {
		cs.finish(id, nil)
	}
}

// answer adds one client's answer: the members it announced, if it is
// subscribed.
func (cs *counts) answer(id uint64, members int, subscribed bool) {
	cs.mu.Lock()
	w := cs.wait[id]
	if w == nil {
		cs.mu.Unlock()
		return
	}
	w.answers++
	if subscribed {
		w.n.Subscribers++
		w.n.Members += members
	}
	complete := w.expect >= 0 && w.answers >= w.expect
	if !complete {
		// Wait for more until the quiet time, within countMax.
		left := countMax - time.Since(w.started)
		w.timer.Reset(min(countQuiet, max(left, 0)))
	}
	cs.mu.Unlock()
	if complete {
		cs.finish(id, nil)
	}
}

// finish gives the answer (or err) to the question's callback on the loop.
func (cs *counts) finish(id uint64, err error) {
	cs.mu.Lock()
	w := cs.wait[id]
	delete(cs.wait, id)
	cs.mu.Unlock()
	if w == nil {
		return
	}
	w.timer.Stop()
	n := w.n
	if err != nil {
		n = Count{}
	}
	workerman.Post(func() { w.fn(n, err) })
}

// appendCountReply encodes an answer: id, whether the client subscribes,
// and its members.
func appendCountReply(b []byte, id uint64, subscribed bool, members int) []byte {
	b = append(b, brokerCountReply)
	b = wire.AppendUvarint(b, id)
	s := uint64(0)
	if subscribed {
		s = 1
	}
	b = wire.AppendUvarint(b, s)
	return wire.AppendUvarint(b, uint64(members))
}

// parseCountReply decodes an answer.
func parseCountReply(p []byte) (id uint64, subscribed bool, members int, ok bool) {
	if len(p) < 1 || p[0] != brokerCountReply {
		return 0, false, 0, false
	}
	r := wire.NewReader(p[1:])
	id = r.Uvarint()
	s := r.Uvarint()
	m := r.Uvarint()
	if r.Done() != nil || m > 1<<31 || s > 1 {
		return 0, false, 0, false
	}
	return id, s == 1, int(m), true
}
