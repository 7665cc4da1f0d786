package http

import (
	"encoding/json"
	"fmt"

	"github.com/workerman-go/workerman"
)

// OnRequest adapts a handler that takes a *Request to a worker's (or a
// connection's) OnMessage, so that the handler's type is checked at
// compile time:
//
//	w := workerman.NewWorker("http://0.0.0.0:8080")
//	w.OnMessage = http.OnRequest(func(c *workerman.Connection, r *http.Request) {
//		c.Send(http.JSON(200, map[string]string{"hello": r.Get("name")}))
//	})
//
// It is workerman.OnMessageOf for *Request: a message of another type
// (the worker does not speak HTTP) is logged and its connection closed.
func OnRequest(fn func(c *workerman.Connection, r *Request)) func(c *workerman.Connection, data any) {
	return workerman.OnMessageOf(fn)
}

// JSON returns a response with the given status (0 means 200), the JSON
// encoding of v (encoding/json) as its body and "Content-Type:
// application/json":
//
//	c.Send(http.JSON(200, map[string]any{"ok": true, "items": items}))
//
// When v cannot be encoded (a channel, a function, a cycle), the response
// is a 500 with the body {"error":"Internal Server Error"}, and the
// encoder's error is logged: the client gets an answer, the log says why.
func JSON(status int, v any) *Response {
	b, err := json.Marshal(v)
	if err != nil {
		workerman.Logger().Error("http: cannot encode the JSON response; answering 500", "type", fmt.Sprintf("%T", v), "err", err)
		status = 500
		b = []byte(`{"error":"Internal Server Error"}`)
	}
	return &Response{status: status, body: b, fields: []field{{"Content-Type", "application/json"}}}
}
