// Command channel-broadcast is the manual's multi-process broadcast with
// the Channel component: a message a WebSocket client sends reaches every
// client, whichever of the worker's processes holds it.
//
//	go run ./examples/channel-broadcast start
//
// In a browser console (open it twice):
//
//	ws = new WebSocket("ws://127.0.0.1:4236");
//	ws.onmessage = (e) => console.log("from the server: " + e.data);
//	ws.send("hello world");
//
// The Channel server is one more worker of the program, on loopback;
// cmd/channel-server runs it as a program of its own for several hosts
// (then pass its address with -channel and drop the server from here).
//
// The tests in channel/examples_test.go build this program and run it
// under the master with WebSocket clients in every process.
package main

import (
	"flag"
	"log"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/channel"
	_ "github.com/workerman-go/workerman/protocols/websocket"
)

func main() {
	channelAddr := flag.String("channel", channel.DefaultAddress, "address of the Channel server")
	listen := flag.String("listen", "0.0.0.0:4236", "address of the WebSocket worker")
	count := flag.Int("count", 6, "processes of the WebSocket worker")
	flag.Parse()

	// The Channel server.
	channel.NewServer(*channelAddr)

	// The WebSocket server.
	worker := workerman.NewWorker("websocket://" + *listen)
	worker.Name = "websocket"
	worker.Count = *count
	var ch *channel.Client
	// Each process connects to the Channel server when it starts and
	// subscribes to the broadcast event.
	worker.OnWorkerStart = func(w *workerman.Worker) {
		var err error
		ch, err = channel.Connect(*channelAddr, nil)
		if err != nil {
			log.Fatal(err)
		}
		ch.On("broadcast", func(d channel.Data) {
			// Send to every client of this process.
			for _, c := range w.Connections {
				c.Send(d.String())
			}
		})
	}
	// A client's message is published to every process.
	worker.OnMessage = func(c *workerman.Connection, data any) {
		if err := ch.Publish("broadcast", data); err != nil {
			c.Send("not sent: " + err.Error())
		}
	}

	if err := workerman.RunAllArgs(flag.Args()); err != nil {
		log.Fatal(err)
	}
}
