package http

import (
	"time"

	"github.com/workerman-go/workerman"
)

// When a worker process stops (stop, stop -g, reload), the framework asks
// each connection's protocol to end it politely (workerman.Drainer). An
// HTTP connection then:
//
//   - answering a request: finishes it; the response carries
//     "Connection: close" (or, when its head has gone already, the
//     connection closes once it is complete);
//   - streaming server-sent events: ends the stream (EventSource clients
//     reconnect by themselves, to a process that is not stopping);
//   - idle between requests: closes at once when the client has sent
//     nothing for drainQuiet; a client that was busy a moment ago is more
//     likely sending its next request than leaving, so it has until it
//     has been quiet that long, and a request that comes meanwhile is
//     answered with "Connection: close".
//
// So a keep-alive client under load sees every request answered and then
// a clean close, and an idle browser connection does not hold the old
// process for the stop's whole window.

// drainQuiet is how long an idle connection's client must have sent
// nothing to be closed at once when its process stops.
const drainQuiet = time.Second

// drainTick is how often idle connections that were busy a moment ago are
// checked again.
const drainTick = 50 * time.Millisecond

// Drain implements workerman.Drainer.
func (p *Protocol) Drain(c *workerman.Connection) {
	st, ok := c.ProtocolData.(*connState)
	if !ok || st.p != p || st.c != c {
		return
	}
	st.draining = true
	if st.sse && (st.out == outRaw || st.out == outChunked) && !st.holding {
		st.endStream()
		return
	}
	if !st.idle() {
		return
	}
	if q, known := c.Quiet(); known && q >= drainQuiet {
		c.Close()
		return
	}
	drains.watch(st)
}

// idle reports whether the connection is between requests: nothing is
// being received, answered or held.
func (st *connState) idle() bool {
	return st.phase == phaseHead && st.cur == nil && st.req == nil && st.out == outNone &&
		!st.holding && !st.closing && st.c.RecvBufferLen() == 0
}

// endStream ends a server-sent event stream in progress.
func (st *connState) endStream() {
	// The last chunk (or, for a stream that ends with the connection,
	// nothing); draining makes the connection close after it.
	st.c.Send(Chunk(nil))
}

// drainWatch checks idle connections of a stopping process until they
// have been quiet for drainQuiet, or start a request.
type drainWatch struct {
	conns map[*connState]time.Time // when the watch began
	timer int
}

var drains = &drainWatch{conns: make(map[*connState]time.Time)}

func (d *drainWatch) watch(st *connState) {
	d.conns[st] = time.Now()
	if d.timer == 0 {
		d.timer = workerman.Timer.Add(drainTick, d.check)
	}
}

func (d *drainWatch) check() {
	now := time.Now()
	for st, since := range d.conns {
		c := st.c
		switch {
		case c.Status() != workerman.StatusEstablished || c.ProtocolData != st:
			// Closed, or switched to another protocol.
			delete(d.conns, st)
		case !st.idle():
			// A request came: its response closes the connection.
			delete(d.conns, st)
		default:
			q, known := c.Quiet()
			if !known {
				q = now.Sub(since)
			}
			if q >= drainQuiet {
				delete(d.conns, st)
				c.Close()
			}
		}
	}
	if len(d.conns) == 0 {
		workerman.Timer.Del(d.timer)
		d.timer = 0
	}
}
