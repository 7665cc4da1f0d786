// Command websocket-client is the manual's ws client: it connects to a
// WebSocket server, sends "hello" and prints what comes back, reconnecting
// when the connection drops.
//
//	go run ./examples/websocket-client ws://127.0.0.1:2000/
package main

import (
	"fmt"
	"log"
	"os"
	"time"

	"github.com/workerman-go/workerman"
	_ "github.com/workerman-go/workerman/protocols/websocket"
)

func main() {
	url := "ws://127.0.0.1:2000/"
	if len(os.Args) > 1 {
		url = os.Args[1]
	}
	worker := workerman.NewWorker("")
	worker.OnWorkerStart = func(*workerman.Worker) {
		ws, err := workerman.NewAsyncTcpConnection(url, nil)
		if err != nil {
			log.Fatal(err)
		}
		ws.OnConnect = func(c *workerman.Connection) { c.Send("hello") }
		ws.OnMessage = func(c *workerman.Connection, data any) { fmt.Printf("recv: %v\n", data) }
		ws.OnError = func(c *workerman.Connection, code int, msg string) { fmt.Println("error:", msg) }
		ws.OnClose = func(c *workerman.Connection) {
			fmt.Println("connection closed; reconnecting in 1s")
			c.Reconnect(time.Second)
		}
		ws.Connect()
	}
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
