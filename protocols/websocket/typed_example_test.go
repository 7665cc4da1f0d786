package websocket_test

import (
	"fmt"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	"github.com/workerman-go/workerman/protocols/websocket"
)

// A handler that takes each message with its type: text is answered as
// text, binary echoed as binary. The client here is the framework's own
// ws:// client.
func ExampleOnMessage() {
	ws := workerman.NewWorker("websocket://127.0.0.1:0")
	ws.OnMessage = websocket.OnMessage(func(c *workerman.Connection, m websocket.Message) {
		if m.IsText() {
			c.Send("hello " + m.Text)
			return
		}
		c.Send(websocket.Binary(m.Data))
	})
	var addr string
	wmtest.Do(func() { ws.Listen(); addr = ws.Addr().String() })
	defer wmtest.Do(ws.Stop)

	got := make(chan string, 2)
	wmtest.Do(func() {
		client, err := workerman.NewAsyncTcpConnection("ws://"+addr+"/", nil)
		if err != nil {
			got <- err.Error()
			return
		}
		client.OnConnect = func(c *workerman.Connection) {
			c.Send("world")
			c.Send(websocket.Binary{1, 2, 3})
		}
		client.OnMessage = websocket.OnMessage(func(c *workerman.Connection, m websocket.Message) {
			if m.IsText() {
				got <- "text: " + m.Text
			} else {
				got <- fmt.Sprintf("binary: %v", m.Data)
				c.Close()
			}
		})
		client.Connect()
	})
	fmt.Println(<-got)
	fmt.Println(<-got)
	// Output:
	// text: hello world
	// binary: [1 2 3]
}
