package websocket

import "github.com/workerman-go/workerman"

// Message is a received WebSocket message with its type, as OnMessage's
// typed adapter delivers it.
type Message struct {
	// Type is OpText or OpBinary.
	Type Opcode
	// Text is the text of a text message (valid UTF-8); "" for a binary one.
	Text string
	// Data is the payload of a binary message, valid until the handler
	// returns (copy it to keep it); nil for a text one.
	Data []byte
}

// IsText reports whether m is a text message.
func (m Message) IsText() bool { return m.Type == OpText }

// OnMessage adapts a handler that takes a Message to a worker's (or a
// connection's) OnMessage field, so that text and binary messages arrive
// typed and the handler's type is checked at compile time:
//
//	ws := workerman.NewWorker("websocket://0.0.0.0:2000")
//	ws.OnMessage = websocket.OnMessage(func(c *workerman.Connection, m websocket.Message) {
//		if m.IsText() {
//			c.Send("hello " + m.Text)
//		} else {
//			c.Send(websocket.Binary(m.Data))
//		}
//	})
//
// A message that is neither (the worker does not speak WebSocket) is
// logged and its connection closed, as with workerman.OnMessageOf.
func OnMessage(fn func(c *workerman.Connection, m Message)) func(c *workerman.Connection, data any) {
	return func(c *workerman.Connection, data any) {
		switch v := data.(type) {
		case string:
			fn(c, Message{Type: OpText, Text: v})
		case []byte:
			fn(c, Message{Type: OpBinary, Data: v})
		default:
			// Let the core report the mismatch the same way for every
			// typed handler.
			workerman.OnMessageOf(func(*workerman.Connection, Message) {})(c, data)
		}
	}
}
