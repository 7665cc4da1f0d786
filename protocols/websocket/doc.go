// Package websocket implements the WebSocket protocol (RFC 6455, version
// 13) for workerman: the "websocket" scheme serves WebSocket clients such as
// browsers, and the "ws" scheme connects to WebSocket servers through
// workerman.NewAsyncTcpConnection. Import it for its side effect of
// registering both schemes:
//
//	import _ "github.com/workerman-go/workerman/protocols/websocket"
//
//	ws := workerman.NewWorker("websocket://0.0.0.0:2000")
//	ws.OnMessage = func(c *workerman.Connection, data any) {
//		c.Send("hello " + data.(string))
//	}
//
// OnMessage receives whole messages: a string for text, a []byte for
// binary (valid until OnMessage returns; copy it to keep it). MessageType
// tells which. Send takes a string or []byte, sent as the connection's Type
// (text unless SetType chose BinaryTypeArrayBuffer), or a Text, Binary,
// Ping, Pong, CloseFrame or Frame value for a specific frame.
//
// The protocol handles fragmentation, pings, the closing handshake, UTF-8
// validation of text, the masking rules and permessage-deflate
// (RFC 7692) itself, and fails a misbehaving peer with the status code the
// RFC prescribes. MaxPackageSize of the connection bounds both a frame and a
// whole message, before and after decompression.
//
// A message that arrives in fragments is assembled in one buffer that
// doubles when full; a binary one's buffer is kept after OnMessage returns
// and reused for the next fragmented message, and a frame larger than
// 64 KiB is built in a kept output buffer: a process keeps one of each, as
// large as the largest such message.
//
// permessage-deflate compresses each message on its own unless
// ContextTakeover is set on the Server or Client; see its documentation
// for the memory it costs per connection.
//
// An idle connection keeps no buffer, goroutine or timer of its own: its
// state is a few dozen bytes in ProtocolData. Heartbeats (Server.PingInterval,
// Server.IdleTimeout) are checked by one timer per Server.
package websocket
