package channel

import (
	"fmt"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wire"
)

// DefaultAddress is where NewServer listens and Connect connects when given
// an empty address: the manual's port 2206, on loopback only (the channel
// has no authentication; listen on a wider address deliberately).
const DefaultAddress = "127.0.0.1:2206"

// Operation bytes of the wire format (see the package documentation).
const (
	opSubscribe   = 'S'
	opUnsubscribe = 'U'
	opPublish     = 'P'
	opWatch       = 'W'
	opUnwatch     = 'X'
	opEnqueue     = 'Q'
	opCount       = 'C'
	opMessage     = 'M'
	opJob         = 'J'
	opCountReply  = 'c'
	opError       = 'E'
)

// Server is the Channel server, Workerman's Channel\Server: a worker of
// one process that relays events and queue items between clients.
type Server struct {
	// Worker is the server's worker: its name (ChannelServer) and address
	// show in status and connections. Its fields may be changed before
	// RunAll; Count must stay 1.
	Worker *workerman.Worker
	// MaxPackageSize bounds every frame the server reads; a client that
	// sends a longer one is disconnected. 0 means 10 MiB.
	MaxPackageSize int
	// MaxSendBufferSize bounds what the server keeps queued for one
	// client; a subscriber that falls this far behind is disconnected.
	// 0 means 16 MiB.
	MaxSendBufferSize int
	// MaxQueueItems bounds the items a queue keeps while nobody watches it;
	// 0 means 100,000.
	MaxQueueItems int
	// StartupReplay is how long after it starts serving the server keeps
	// the events published to it, and replays them to clients that
	// subscribe to them within that time. After a restart the clients
	// come back one by one: an event published by the first one back
	// still reaches the subscribers that reconnect a moment later. 0 means
	// 3 s (longer than a client's longest reconnect delay); negative
	// disables it. At most 10,000 events or 4 MiB are kept.
	StartupReplay time.Duration

	events map[string]map[*workerman.Connection]int // event → subscriber → members
	queues map[string]*queue
	buf    []byte
	// Frames for clients are gathered per client during a loop turn and
	// written once at its end: a client subscribed to many events read in
	// one turn gets one write, not one per event.
	dirty       []*workerman.Connection
	flushPosted bool
	flushF      func()

	// The events of the startup window, for late subscribers.
	started    bool
	replaying  bool
	early      []earlyEvent
	earlyBytes int
}

// earlyEvent is an event published during the startup window.
type earlyEvent struct {
	name  string
	frame []byte // the 'M' frame
}

// Bounds of what the startup window keeps.
const (
	maxEarlyEvents = 10000
	maxEarlyBytes  = 4 << 20
)

// subscriber is what the server keeps per client connection.
type subscriber struct {
	events  map[string]struct{}
	watches map[string]struct{}
	out     []byte // frames gathered in this loop turn
	dirty   bool   // listed in Server.dirty
	// unsent lists the queue items given to this watcher that still
	// wait in its send buffer, oldest first: if its connection is lost
	// before the kernel takes them, they go back to their queues.
	unsent []sentItem
}

// sentItem is a queue item in a watcher's send buffer.
type sentItem struct {
	queue string
	frame []byte
	end   int64 // the watcher's BytesWritten once the item is written
}

type queue struct {
	watchers []*workerman.Connection
	next     int
	items    [][]byte // 'J' frames waiting for a watcher
}

// NewServer creates the Channel server's worker for an address such as
// "0.0.0.0:2206", "tcp://127.0.0.1:2206" or "unix:///run/app/channel.sock";
// "" means DefaultAddress. Create it before RunAll, like any worker.
func NewServer(address string) *Server {
	w := workerman.NewWorker(wire.ListenAddress(address, DefaultAddress))
	w.Name = "ChannelServer"
	w.Count = 1
	w.Protocol = workerman.Frame
	s := &Server{Worker: w, events: map[string]map[*workerman.Connection]int{}, queues: map[string]*queue{}}
	s.attach()
	return s
}

// attach sets the worker's callbacks.
func (s *Server) attach() {
	w := s.Worker
	w.OnConnect = func(c *workerman.Connection) {
		if !s.started {
			s.startWindow()
		}
		c.MaxPackageSize = orDefault(s.MaxPackageSize, 10<<20)
		c.MaxSendBufferSize = orDefault(s.MaxSendBufferSize, 16<<20)
		c.UserData = &subscriber{}
	}
	w.OnMessage = s.onMessage
	w.OnBufferFull = func(c *workerman.Connection) {
		workerman.Logger().Warn("channel: a subscriber cannot keep up; disconnecting it", "connection", c.ID, "remote", c.RemoteAddress())
		c.Destroy()
	}
	// A watcher with room again takes the items that wait.
	w.OnBufferDrain = func(c *workerman.Connection) {
		sub, _ := c.UserData.(*subscriber)
		if sub == nil {
			return
		}
		clear(sub.unsent)
		sub.unsent = sub.unsent[:0]
		for name := range sub.watches {
			if q := s.queues[name]; q != nil && len(q.items) > 0 {
				s.handOut(name, q)
			}
		}
	}
	w.OnClose = s.onClose
}

func orDefault(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

func (s *Server) onMessage(c *workerman.Connection, data any) {
	p := data.([]byte)
	sub, _ := c.UserData.(*subscriber)
	if sub == nil || len(p) == 0 {
		s.refuse(c, "empty frame")
		return
	}
	r := wire.NewReader(p[1:])
	switch p[0] {
	case opSubscribe:
		ev := r.Bytes()
		members := r.Uvarint()
		if r.Done() != nil || members > 1<<31 {
			s.refuse(c, "malformed subscribe")
			return
		}
		name := string(ev)
		subs := s.events[name]
		if subs == nil {
			subs = map[*workerman.Connection]int{}
			s.events[name] = subs
		}
		_, had := subs[c]
		subs[c] = int(members)
		if sub.events == nil {
			sub.events = map[string]struct{}{}
		}
		sub.events[name] = struct{}{}
		if !had && s.replaying {
			for _, e := range s.early {
				if e.name == name {
					s.send(c, e.frame)
				}
			}
		}
	case opUnsubscribe:
		ev := r.Bytes()
		if r.Done() != nil {
			s.refuse(c, "malformed unsubscribe")
			return
		}
		s.unsubscribe(c, sub, string(ev))
	case opPublish:
		ev := r.Bytes()
		if len(r.Rest()) < 1 || r.Err() != nil {
			s.refuse(c, "malformed publish")
			return
		}
		subs := s.events[string(ev)]
		if len(subs) == 0 && !s.replaying {
			return
		}
		frame := s.frame(opMessage, p[1:])
		if s.replaying {
			s.keepEarly(string(ev), frame)
		}
		if len(subs) == 0 {
			return
		}
		for to := range subs {
			s.send(to, frame)
		}
	case opWatch:
		q := r.Bytes()
		if r.Done() != nil {
			s.refuse(c, "malformed watch")
			return
		}
		s.watch(c, sub, string(q))
	case opUnwatch:
		q := r.Bytes()
		if r.Done() != nil {
			s.refuse(c, "malformed unwatch")
			return
		}
		s.unwatch(c, sub, string(q))
	case opEnqueue:
		q := r.Bytes()
		if len(r.Rest()) < 1 || r.Err() != nil {
			s.refuse(c, "malformed enqueue")
			return
		}
		s.enqueue(c, string(q), p[1:])
	case opCount:
		id := r.Uvarint()
		ev := r.Bytes()
		if r.Done() != nil {
			s.refuse(c, "malformed count")
			return
		}
		subs := s.events[string(ev)]
		members := 0
		for _, m := range subs {
			members += m
		}
		b, start := wire.Begin(s.buf[:0])
		b = append(b, opCountReply)
		b = wire.AppendUvarint(b, id)
		b = wire.AppendUvarint(b, uint64(len(subs)))
		b = wire.AppendUvarint(b, uint64(members))
		s.buf = wire.End(b, start)
		s.send(c, s.buf)
	default:
		s.refuse(c, fmt.Sprintf("unknown operation %q", p[0]))
	}
}

// startWindow opens the startup window at the first connection.
func (s *Server) startWindow() {
	s.started = true
	d := s.StartupReplay
	if d < 0 {
		return
	}
	if d == 0 {
		d = 3 * time.Second
	}
	s.replaying = true
	workerman.Timer.Once(d, func() {
		s.replaying = false
		s.early = nil
		s.earlyBytes = 0
	})
}

// keepEarly keeps an event of the startup window, within its bounds.
func (s *Server) keepEarly(name string, frame []byte) {
	if len(s.early) >= maxEarlyEvents || s.earlyBytes+len(frame) > maxEarlyBytes {
		return
	}
	s.early = append(s.early, earlyEvent{name: name, frame: append([]byte(nil), frame...)})
	s.earlyBytes += len(frame)
}

// send adds a frame to what c gets at the end of this loop turn.
func (s *Server) send(c *workerman.Connection, frame []byte) {
	sub, _ := c.UserData.(*subscriber)
	if sub == nil {
		return
	}
	sub.out = append(sub.out, frame...)
	if !sub.dirty {
		sub.dirty = true
		s.dirty = append(s.dirty, c)
	}
	if !s.flushPosted {
		s.flushPosted = true
		if s.flushF == nil {
			s.flushF = s.flush
		}
		workerman.Post(s.flushF)
	}
}

// flush writes what each client gathered during the loop turn.
func (s *Server) flush() {
	s.flushPosted = false
	dirty := s.dirty
	for i, c := range dirty {
		dirty[i] = nil
		sub, _ := c.UserData.(*subscriber)
		if sub == nil {
			continue
		}
		sub.dirty = false
		s.flushOne(c)
	}
	s.dirty = dirty[:0]
}

// flushOne writes what c gathered so far.
func (s *Server) flushOne(c *workerman.Connection) {
	sub, _ := c.UserData.(*subscriber)
	if sub == nil || len(sub.out) == 0 {
		return
	}
	if c.Status() == workerman.StatusEstablished {
		// SendRaw copies what it cannot write at once.
		c.SendRaw(sub.out)
	}
	if cap(sub.out) > 64<<10 {
		sub.out = nil
	} else {
		sub.out = sub.out[:0]
	}
}

// frame returns a frame of op followed by body, in the server's buffer.
func (s *Server) frame(op byte, body []byte) []byte {
	b, start := wire.Begin(s.buf[:0])
	b = append(b, op)
	b = append(b, body...)
	s.buf = wire.End(b, start)
	return s.buf
}

// refuse disconnects a client that broke the protocol.
func (s *Server) refuse(c *workerman.Connection, why string) {
	workerman.Logger().Warn("channel: disconnecting a client that broke the protocol", "connection", c.ID, "remote", c.RemoteAddress(), "why", why)
	c.Destroy()
}

func (s *Server) unsubscribe(c *workerman.Connection, sub *subscriber, ev string) {
	if subs := s.events[ev]; subs != nil {
		delete(subs, c)
		if len(subs) == 0 {
			delete(s.events, ev)
		}
	}
	delete(sub.events, ev)
}

func (s *Server) watch(c *workerman.Connection, sub *subscriber, name string) {
	if sub.watches == nil {
		sub.watches = map[string]struct{}{}
	}
	if _, ok := sub.watches[name]; ok {
		return
	}
	sub.watches[name] = struct{}{}
	q := s.queues[name]
	if q == nil {
		q = &queue{}
		s.queues[name] = q
	}
	q.watchers = append(q.watchers, c)
	s.handOut(name, q)
}

func (s *Server) unwatch(c *workerman.Connection, sub *subscriber, name string) {
	delete(sub.watches, name)
	q := s.queues[name]
	if q == nil {
		return
	}
	for i, w := range q.watchers {
		if w == c {
			q.watchers = append(q.watchers[:i], q.watchers[i+1:]...)
			if i < q.next {
				q.next--
			}
			break
		}
	}
	if len(q.watchers) == 0 && len(q.items) == 0 {
		delete(s.queues, name)
	}
}

// handOut gives the items waiting in a queue to its watchers, in order,
// while they have room for them.
func (s *Server) handOut(name string, q *queue) {
	for len(q.items) > 0 && s.deliver(name, q, q.items[0], true) {
		q.items[0] = nil
		q.items = q.items[1:]
	}
	if len(q.items) == 0 {
		q.items = nil
	}
	// A watcher lost while items were handed out may have removed the
	// queue.
	if len(q.watchers) > 0 || len(q.items) > 0 {
		s.queues[name] = q
	}
}

// deliver sends a 'J' frame to the next watcher that has room for it, and
// reports whether one took it. Items never fill a watcher's send buffer
// (which would disconnect it): they wait in the queue until it drains.
// owned says the frame is the queue's own copy, which the watcher may
// keep (see track).
func (s *Server) deliver(name string, q *queue, frame []byte, owned bool) bool {
	for range len(q.watchers) {
		if len(q.watchers) == 0 {
			// Those tried were lost while sending.
			return false
		}
		q.next %= len(q.watchers)
		w := q.watchers[q.next]
		q.next++
		// Queue items are written at once, after what the watcher gathered
		// in this turn, so that its send buffer shows how far behind it is
		// and a lost watcher is found now.
		s.flushOne(w)
		if n := w.SendBufferLen(); n > 0 && n+len(frame) >= w.MaxSendBufferSize {
			continue
		}
		if w.SendRaw(frame) != workerman.SendFailed {
			s.track(w, name, frame, owned)
			return true
		}
	}
	return false
}

// track notes an item just given to watcher w while it waits in w's send
// buffer (on io_uring every send waits for the end of the loop's round),
// and forgets those the kernel has taken since.
func (s *Server) track(w *workerman.Connection, name string, frame []byte, owned bool) {
	sub, _ := w.UserData.(*subscriber)
	if sub == nil || s.Worker.Transport == "ssl" {
		// Over TLS, BytesWritten counts plaintext and the send buffer
		// sealed records: positions cannot be compared.
		return
	}
	written := w.BytesWritten()
	n := 0
	for n < len(sub.unsent) && sub.unsent[n].end <= written {
		n++
	}
	if n > 0 {
		m := copy(sub.unsent, sub.unsent[n:])
		clear(sub.unsent[m:])
		sub.unsent = sub.unsent[:m]
	}
	queued := w.SendBufferLen()
	if queued == 0 {
		return
	}
	if !owned {
		frame = append([]byte(nil), frame...)
	}
	sub.unsent = append(sub.unsent, sentItem{queue: name, frame: frame, end: written + int64(queued)})
}

func (s *Server) enqueue(from *workerman.Connection, name string, body []byte) {
	q := s.queues[name]
	if q == nil {
		q = &queue{}
		s.queues[name] = q
	}
	frame := s.frame(opJob, body)
	if len(q.items) > 0 {
		// Items wait already: this one goes after them.
		s.handOut(name, q)
	}
	if len(q.items) == 0 && s.deliver(name, q, frame, false) {
		return
	}
	if len(q.items) >= orDefault(s.MaxQueueItems, 100000) {
		b, start := wire.Begin(nil)
		b = append(b, opError)
		b = wire.AppendString(b, fmt.Sprintf("channel: queue %q is full (%d items wait for a watcher); item dropped", name, len(q.items)))
		s.send(from, wire.End(b, start))
		return
	}
	q.items = append(q.items, append([]byte(nil), frame...))
	// The watchers tried may have been lost, and the queue removed with
	// the last of them.
	s.queues[name] = q
}

func (s *Server) onClose(c *workerman.Connection) {
	sub, _ := c.UserData.(*subscriber)
	if sub == nil {
		return
	}
	for ev := range sub.events {
		s.unsubscribe(c, sub, ev)
	}
	for q := range sub.watches {
		s.unwatch(c, sub, q)
	}
	s.requeueUnsent(c, sub)
}

// requeueUnsent puts the items given to a lost watcher that the kernel
// never took back at the front of their queues, in order, and hands them
// to the other watchers. The watcher cannot have received them, so
// delivery stays at most once.
func (s *Server) requeueUnsent(c *workerman.Connection, sub *subscriber) {
	if len(sub.unsent) == 0 {
		return
	}
	written := c.BytesWritten()
	back := map[string][][]byte{}
	var order []string
	for _, it := range sub.unsent {
		if it.end <= written {
			continue
		}
		if _, ok := back[it.queue]; !ok {
			order = append(order, it.queue)
		}
		back[it.queue] = append(back[it.queue], it.frame)
	}
	sub.unsent = nil
	for _, name := range order {
		q := s.queues[name]
		if q == nil {
			q = &queue{}
		}
		q.items = append(back[name], q.items...)
		s.handOut(name, q)
	}
}
