// Package push sends to a user, a group or everyone from any process, what
// GatewayWorker users rely on: bind a connection to a uid, join groups, and
// send to a uid, a group or all connections, whichever process (or
// program, or host) holds them.
//
// A Hub sits on a channel.Client. Each process that holds connections
// creates one in OnWorkerStart:
//
//	var hub *push.Hub
//	ws.OnWorkerStart = func(w *workerman.Worker) {
//		ch, _ := channel.Connect("127.0.0.1:2206", nil)
//		hub = push.New(ch, w)
//	}
//	ws.OnMessage = func(c *workerman.Connection, data any) {
//		hub.BindUid(c, data.(string))       // the first message names the user
//		hub.SendToUid("alice", "hi")        // wherever alice is connected
//	}
//
// A program that only sends (an HTTP API worker, a cron job) creates a Hub
// with a nil worker and calls the Send methods and IsUidOnline.
//
// # Routing
//
// A process subscribes to the channel event of a uid or group only while it
// holds a member of it, and unsubscribes when the last one leaves: a
// message for one uid travels to the processes that hold that uid, not to
// every process. The subscriptions carry the number of local members, so
// the server can answer IsUidOnline and GroupCount for the whole cluster;
// when a process dies its subscriptions, and so its members, vanish with
// its connection.
//
// # Delivery
//
// Delivery has the channel's guarantees: at most once, in order per sender,
// and a refused send (the client's queue is full) is returned as an error.
// Data is sent to each connection with Send: a string as a string (a text
// frame on WebSocket), a []byte as bytes, and any other value as its JSON
// text in a string.
//
// Bind, join and leave calls work on the connections of the calling
// process and must be made on the loop (in callbacks); the Send methods and
// the queries may be called from any goroutine.
package push

import (
	"context"
	"errors"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/channel"
)

// DefaultPrefix starts the names of the channel events a Hub uses.
const DefaultPrefix = "push."

// Hub binds the calling process's connections to uids and groups and sends
// to uids, groups and everyone across processes.
type Hub struct {
	ch     *channel.Client
	w      *workerman.Worker
	prefix string

	// loop only
	uids    map[string]map[*workerman.Connection]struct{}
	groups  map[string]map[*workerman.Connection]struct{}
	members map[*workerman.Connection]*member
}

// member is what the hub knows of one local connection.
type member struct {
	uid    string
	groups map[string]struct{}
}

// New creates a hub on ch. With a worker w, SendToAll reaches every
// connection of w in every process that made a hub for it; with nil, the
// hub only sends and asks (an API worker, a plain program). Call it on the
// loop (in OnWorkerStart) when w is set.
func New(ch *channel.Client, w *workerman.Worker) *Hub {
	return NewPrefix(ch, w, DefaultPrefix)
}

// NewPrefix is New with the prefix of the hub's channel events, to run
// several independent hubs on one channel server.
func NewPrefix(ch *channel.Client, w *workerman.Worker, prefix string) *Hub {
	h := &Hub{
		ch: ch, w: w, prefix: prefix,
		uids:    map[string]map[*workerman.Connection]struct{}{},
		groups:  map[string]map[*workerman.Connection]struct{}{},
		members: map[*workerman.Connection]*member{},
	}
	if w != nil {
		if err := ch.On(prefix+"all", func(d channel.Data) {
			msg := payload(d)
			for _, c := range w.Connections {
				c.Send(msg)
			}
		}); err != nil {
			workerman.Logger().Error("push: cannot subscribe to broadcasts", "err", err)
		}
	}
	return h
}

func (h *Hub) uidEvent(uid string) string     { return h.prefix + "u." + uid }
func (h *Hub) groupEvent(group string) string { return h.prefix + "g." + group }

// payload turns received data into what Send gets.
func payload(d channel.Data) any {
	if d.Kind() == channel.KindBytes {
		return d.Bytes()
	}
	return d.String()
}

// member returns c's record, creating it and hooking c's close: the hub
// wraps the connection's OnClose (the worker's, copied at accept), so an
// OnClose set on the connection itself must be set before it is bound.
func (h *Hub) member(c *workerman.Connection) *member {
	if m := h.members[c]; m != nil {
		return m
	}
	m := &member{}
	h.members[c] = m
	prev := c.OnClose
	c.OnClose = func(c *workerman.Connection) {
		h.forget(c)
		if prev != nil {
			prev(c)
		}
	}
	return m
}

// forget removes a closed connection from its uid and groups.
func (h *Hub) forget(c *workerman.Connection) {
	m := h.members[c]
	if m == nil {
		return
	}
	if m.uid != "" {
		h.leave(h.uids, h.uidEvent(m.uid), m.uid, c)
	}
	for g := range m.groups {
		h.leave(h.groups, h.groupEvent(g), g, c)
	}
	delete(h.members, c)
}

// join adds c to set[name], subscribing when it is the first local member,
// and updates the member count the server keeps.
func (h *Hub) join(set map[string]map[*workerman.Connection]struct{}, event, name string, c *workerman.Connection) error {
	conns := set[name]
	if conns == nil {
		conns = map[*workerman.Connection]struct{}{}
		set[name] = conns
		if err := h.ch.On(event, func(d channel.Data) {
			msg := payload(d)
			for c := range set[name] {
				c.Send(msg)
			}
		}); err != nil {
			delete(set, name)
			return err
		}
	}
	if _, ok := conns[c]; ok {
		return nil
	}
	conns[c] = struct{}{}
	return h.ch.SetMembers(event, len(conns))
}

// leave removes c from set[name], unsubscribing with the last local member.
func (h *Hub) leave(set map[string]map[*workerman.Connection]struct{}, event, name string, c *workerman.Connection) {
	conns := set[name]
	if _, ok := conns[c]; !ok {
		return
	}
	delete(conns, c)
	if len(conns) == 0 {
		delete(set, name)
		h.ch.Unsubscribe(event)
		return
	}
	h.ch.SetMembers(event, len(conns))
}

// BindUid binds c to uid, GatewayWorker's bindUid: messages sent to uid
// from any process reach c. A uid may have several connections (several
// tabs, devices); a connection has one uid, and binding it again moves it.
// The binding ends when c closes. Call it on the loop. An error means the
// channel client refused the subscription (queue full or closed).
func (h *Hub) BindUid(c *workerman.Connection, uid string) error {
	if uid == "" {
		return errors.New("push: empty uid")
	}
	m := h.member(c)
	if m.uid == uid {
		return nil
	}
	if m.uid != "" {
		h.leave(h.uids, h.uidEvent(m.uid), m.uid, c)
	}
	m.uid = uid
	return h.join(h.uids, h.uidEvent(uid), uid, c)
}

// UnbindUid undoes BindUid for c.
func (h *Hub) UnbindUid(c *workerman.Connection) {
	m := h.members[c]
	if m == nil || m.uid == "" {
		return
	}
	h.leave(h.uids, h.uidEvent(m.uid), m.uid, c)
	m.uid = ""
}

// Uid returns the uid c is bound to, or "".
func (h *Hub) Uid(c *workerman.Connection) string {
	if m := h.members[c]; m != nil {
		return m.uid
	}
	return ""
}

// JoinGroup adds c to a group until it leaves or closes, GatewayWorker's
// joinGroup. Call it on the loop.
func (h *Hub) JoinGroup(c *workerman.Connection, group string) error {
	if group == "" {
		return errors.New("push: empty group")
	}
	m := h.member(c)
	if m.groups == nil {
		m.groups = map[string]struct{}{}
	}
	m.groups[group] = struct{}{}
	return h.join(h.groups, h.groupEvent(group), group, c)
}

// LeaveGroup removes c from a group.
func (h *Hub) LeaveGroup(c *workerman.Connection, group string) {
	m := h.members[c]
	if m == nil {
		return
	}
	if _, ok := m.groups[group]; !ok {
		return
	}
	delete(m.groups, group)
	h.leave(h.groups, h.groupEvent(group), group, c)
}

// Groups returns the groups c is in.
func (h *Hub) Groups(c *workerman.Connection) []string {
	m := h.members[c]
	if m == nil {
		return nil
	}
	gs := make([]string, 0, len(m.groups))
	for g := range m.groups {
		gs = append(gs, g)
	}
	return gs
}

// SendToUid sends data to every connection bound to uid, in any process.
// data is a string, a []byte or a JSON-encodable value. Any goroutine.
func (h *Hub) SendToUid(uid string, data any) error {
	return h.ch.Publish(h.uidEvent(uid), data)
}

// SendToGroup sends data to every member of a group, in any process.
func (h *Hub) SendToGroup(group string, data any) error {
	return h.ch.Publish(h.groupEvent(group), data)
}

// SendToAll sends data to every connection of the workers whose processes
// made a hub for them.
func (h *Hub) SendToAll(data any) error {
	return h.ch.Publish(h.prefix+"all", data)
}

// IsUidOnline asks whether any process holds a connection bound to uid; fn
// runs on the loop with the answer.
func (h *Hub) IsUidOnline(uid string, fn func(bool, error)) {
	h.ch.Count(h.uidEvent(uid), func(n channel.Count, err error) { fn(n.Members > 0, err) })
}

// IsUidOnlineContext is IsUidOnline for a goroutine that is not the loop.
func (h *Hub) IsUidOnlineContext(ctx context.Context, uid string) (bool, error) {
	n, err := h.ch.CountContext(ctx, h.uidEvent(uid))
	return n.Members > 0, err
}

// UidCount asks how many connections are bound to uid across processes.
func (h *Hub) UidCount(uid string, fn func(int, error)) {
	h.ch.Count(h.uidEvent(uid), func(n channel.Count, err error) { fn(n.Members, err) })
}

// GroupCount asks how many connections are in a group across processes,
// GatewayWorker's getClientIdCountByGroup; fn runs on the loop.
func (h *Hub) GroupCount(group string, fn func(int, error)) {
	h.ch.Count(h.groupEvent(group), func(n channel.Count, err error) { fn(n.Members, err) })
}

// GroupCountContext is GroupCount for a goroutine that is not the loop.
func (h *Hub) GroupCountContext(ctx context.Context, group string) (int, error) {
	n, err := h.ch.CountContext(ctx, h.groupEvent(group))
	return n.Members, err
}
