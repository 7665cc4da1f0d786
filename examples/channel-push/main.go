// Command channel-push is the manual's cluster push with the Channel
// component: WebSocket clients connect to any process of the pusher
// worker, and an HTTP API pushes to all of them or to one connection of
// one process.
//
//	go run ./examples/channel-push start
//
// In a browser console:
//
//	ws = new WebSocket("ws://127.0.0.1:4236");
//	ws.onmessage = (e) => console.log(e.data);  // workerID:0 connectionID:2 connected
//
// Then:
//
//	curl 'http://127.0.0.1:4237/?content=hello'                                  # everyone
//	curl 'http://127.0.0.1:4237/?to_worker_id=0&to_connection_id=2&content=hi'  # that one connection
//
// (Connection IDs count every connection of a process, the process's own
// connection to the Channel server included.)
//
// The tests in channel/examples_test.go build this program and run it
// under the master with WebSocket clients in every process.
package main

import (
	"flag"
	"fmt"
	"log"
	"strconv"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/channel"
	"github.com/workerman-go/workerman/protocols/http"
	_ "github.com/workerman-go/workerman/protocols/websocket"
)

// message is the data of the events: where to and what.
type message struct {
	ToConnectionID string `json:"to_connection_id,omitempty"`
	Content        string `json:"content"`
}

func main() {
	channelAddr := flag.String("channel", channel.DefaultAddress, "address of the Channel server")
	wsAddr := flag.String("ws", "0.0.0.0:4236", "address of the WebSocket worker")
	httpAddr := flag.String("http", "0.0.0.0:4237", "address of the HTTP push API")
	count := flag.Int("count", 2, "processes of the WebSocket worker")
	flag.Parse()

	// The Channel server.
	channel.NewServer(*channelAddr)

	// The WebSocket server.
	worker := workerman.NewWorker("websocket://" + *wsAddr)
	worker.Count = *count
	worker.Name = "pusher"
	worker.OnWorkerStart = func(w *workerman.Worker) {
		ch, err := channel.Connect(*channelAddr, nil)
		if err != nil {
			log.Fatal(err)
		}
		// Each process subscribes to the event named after its worker ID.
		ch.On(strconv.Itoa(w.ID), func(d channel.Data) {
			var m message
			if err := d.Decode(&m); err != nil {
				log.Printf("bad event: %v", err)
				return
			}
			id, _ := strconv.Atoi(m.ToConnectionID)
			c, ok := w.Connections[id]
			if !ok {
				fmt.Println("connection not exists")
				return
			}
			c.Send(m.Content)
		})
		// And to the broadcast, sent to every connection of the process.
		ch.On("广播", func(d channel.Data) {
			var m message
			if err := d.Decode(&m); err != nil {
				log.Printf("bad event: %v", err)
				return
			}
			for _, c := range w.Connections {
				c.Send(m.Content)
			}
		})
	}
	worker.OnConnect = func(c *workerman.Connection) {
		msg := fmt.Sprintf("workerID:%d connectionID:%d connected\n", worker.ID, c.ID)
		fmt.Print(msg)
		c.Send(msg)
	}

	// The HTTP API pushes to any client: to one with to_worker_id and
	// to_connection_id, to everyone without.
	httpWorker := workerman.NewWorker("http://" + *httpAddr)
	httpWorker.Name = "publisher"
	var ch *channel.Client
	httpWorker.OnWorkerStart = func(*workerman.Worker) {
		var err error
		ch, err = channel.Connect(*channelAddr, nil)
		if err != nil {
			log.Fatal(err)
		}
	}
	httpWorker.OnMessage = func(c *workerman.Connection, data any) {
		req := data.(*http.Request)
		content := req.Get("content")
		if content == "" {
			c.Send("ok")
			return
		}
		var err error
		if toWorker, toConnection := req.Get("to_worker_id"), req.Get("to_connection_id"); toWorker != "" && toConnection != "" {
			err = ch.Publish(toWorker, message{ToConnectionID: toConnection, Content: content})
		} else {
			err = ch.Publish("广播", message{Content: content})
		}
		if err != nil {
			// The Channel server is unreachable and the queue is full.
			c.Send(http.NewResponse(503, nil, err.Error()))
			return
		}
		c.Send("ok")
	}

	if err := workerman.RunAllArgs(flag.Args()); err != nil {
		log.Fatal(err)
	}
}
