package websocket

import (
	"errors"
	"slices"
	"time"

	"github.com/workerman-go/workerman"
)

// The heartbeat is one timer per Server or Client, not one per connection:
// every interval it advances a tick counter, and each connection remembers
// the tick of its last received frame. The timer runs only while the
// engine has connections.

// track registers a new connection with the heartbeat sweep.
func (e *engine) track(c *workerman.Connection) {
	if e.interval <= 0 {
		return
	}
	if e.client {
		if e.clients == nil {
			e.clients = map[*workerman.Connection]struct{}{}
		}
		e.clients[c] = struct{}{}
	} else if !slices.Contains(e.workers, c.Worker) {
		e.workers = append(e.workers, c.Worker)
	}
	if e.timer == 0 {
		e.timer = workerman.Timer.Add(e.interval, e.sweep)
	}
}

// untrack removes a client connection from the sweep.
func (e *engine) untrack(c *workerman.Connection) {
	if e.clients != nil {
		delete(e.clients, c)
	}
}

// elapsed converts a number of ticks to a duration.
func (e *engine) elapsed(ticks uint32) time.Duration { return time.Duration(ticks) * e.interval }

func (e *engine) sweep() {
	e.tick++
	n := 0
	visit := func(c *workerman.Connection) {
		st, ok := c.ProtocolData.(*state)
		if !ok || st.e != e || c.Status() != workerman.StatusEstablished {
			return
		}
		n++
		silent := e.elapsed(e.tick - st.lastSeen)
		switch {
		case st.flags&flagOpen == 0:
			if e.handshakeTime > 0 && silent >= e.handshakeTime {
				if e.client {
					st.handshakeFailed(c, errors.New("no answer within "+e.handshakeTime.String()))
				} else {
					c.Destroy()
				}
			}
		case e.idleTimeout > 0 && silent >= e.idleTimeout:
			st.fail(c, CloseGoingAway, "idle timeout")
		case e.pingEvery > 0 && silent >= e.pingEvery && st.flags&(flagPinged|flagCloseSent|flagCloseRecv) == 0:
			st.flags |= flagPinged
			c.Send(Ping(nil))
		}
	}
	if e.client {
		for c := range e.clients {
			if c.Status() == workerman.StatusClosed {
				delete(e.clients, c)
				continue
			}
			visit(c)
		}
		if len(e.clients) > 0 {
			n++
		}
	} else {
		for _, w := range e.workers {
			for _, c := range w.Connections {
				visit(c)
			}
		}
	}
	if n == 0 {
		workerman.Timer.Del(e.timer)
		e.timer = 0
		e.workers = e.workers[:0]
	}
}
