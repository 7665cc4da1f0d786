package websocket

import (
	"time"

	"github.com/workerman-go/workerman"
)

// GoingAwayReason is the reason of the close frame a server connection
// receives when its worker process stops (see Server.Drain).
const GoingAwayReason = "server going away"

// closeWait is how long a server that said goodbye waits for the client's
// close frame before it closes the TCP connection itself.
const closeWait = time.Second

// Drain implements workerman.Drainer. When a worker process stops (stop,
// stop -g, reload, StopAll), each of its open WebSocket connections
// receives a close frame with status 1001 (CloseGoingAway), after what was
// sent before it; the TCP connection closes when the client answers with
// its own close frame (RFC 6455 section 7.1.1: the server closes first),
// or after a second. Browsers see a close event with code 1001 and can
// reconnect at once, to a process that is not stopping. A connection still
// in its handshake gets the close frame as soon as the handshake is done.
func (s *Server) Drain(c *workerman.Connection) {
	st := stateOf(c)
	if st == nil || st.flags&flagClient != 0 {
		return
	}
	if st.flags&flagOpen == 0 {
		st.flags |= flagGoAway
		return
	}
	st.goAway(c)
}

// goAway sends the close frame of a stopping process and closes the
// connection once the client has answered, or after closeWait.
func (st *state) goAway(c *workerman.Connection) {
	if st.flags&(flagCloseSent|flagCloseRecv) != 0 || c.Status() != workerman.StatusEstablished {
		return
	}
	payload := append([]byte{byte(CloseGoingAway >> 8), byte(CloseGoingAway & 0xff)}, GoingAwayReason...)
	st.flags |= flagCloseSent
	c.SendRaw(appendFrame(nil, bitFin|byte(OpClose), payload, false, 0))
	workerman.Timer.Once(closeWait, func() {
		if c.Status() == workerman.StatusEstablished {
			c.Close()
		}
	})
}
