package websocket

import (
	"time"

	"github.com/workerman-go/workerman"
)

// Server and Client keep their own field lists, so that composite literals
// such as &Server{Compression: true} work; what they do with them is
// shared here.

// handshakeTime is the handshake deadline for a HandshakeTimeout field:
// 0 means 10 seconds, negative means none (0 in the engine).
func handshakeTime(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return 10 * time.Second
	case d > 0:
		return d
	}
	return 0
}

// decodeMessage is Decode of Server and Client: a message once the
// connection is open, before that the handshake, given to handshake.
func decodeMessage(pkg []byte, c *workerman.Connection, handshake func(e *engine, pkg []byte, c *workerman.Connection, st *state)) (any, error) {
	st := stateOf(c)
	if st == nil {
		return nil, errNotWebSocket
	}
	if st.flags&flagOpen != 0 {
		return st.e.decode(pkg, c, st)
	}
	handshake(st.e, pkg, c, st)
	return nil, nil
}

// encodeMessage is Encode of Server and Client.
func encodeMessage(dst []byte, data any, c *workerman.Connection) ([]byte, error) {
	st := stateOf(c)
	if st == nil {
		return dst, errNotWebSocket
	}
	return st.e.encode(dst, data, c, st)
}
