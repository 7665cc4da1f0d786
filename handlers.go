package workerman

import "fmt"

// OnMessageOf adapts a handler that takes the message type a protocol
// delivers to the OnMessage field, so that a handler for the wrong type is a
// compile error rather than a failed type assertion at run time:
//
//	w := workerman.NewWorker("text://0.0.0.0:5678")
//	w.OnMessage = workerman.OnMessageOf(func(c *workerman.Connection, line string) {
//		c.Send("you said " + line)
//	})
//
// The built-in protocols deliver: text, a string (the line, without its
// end); frame and raw tcp/udp/unix, a []byte (valid until the handler
// returns: copy it to keep it). Protocol packages offer their own typed
// adapters: http.OnRequest (a *http.Request) and websocket.OnMessage (a
// websocket.Message, text or binary).
//
// A message of another type, which means the worker's protocol is not the
// one the handler was written for, is not passed on: the mismatch is logged
// and the connection closed.
func OnMessageOf[T any](fn func(c *Connection, msg T)) func(c *Connection, data any) {
	return func(c *Connection, data any) {
		msg, ok := data.(T)
		if !ok {
			mismatchedMessage(c, data, msg)
			return
		}
		fn(c, msg)
	}
}

// mismatchedMessage closes a connection whose message is not of the type
// its typed handler takes.
func mismatchedMessage(c *Connection, got, want any) {
	logger().Error("message of the wrong type for the handler; closing the connection",
		"connection", c.ID, "got", fmt.Sprintf("%T", got), "handler takes", fmt.Sprintf("%T", want),
		"protocol", protocolName(c.Protocol, c.transport))
	c.Destroy()
}
