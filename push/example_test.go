package push_test

import (
	"context"
	"fmt"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/channel"
	"github.com/workerman-go/workerman/push"
)

// A WebSocket worker whose processes bind each connection to the uid its
// first message names, and an HTTP worker that pushes to a uid wherever it
// is connected: the manual's "push to a given user" with Count > 1.
func Example() {
	channel.NewServer("127.0.0.1:2206")

	ws := workerman.NewWorker("websocket://0.0.0.0:8001")
	ws.Count = 4
	var hub *push.Hub
	ws.OnWorkerStart = func(w *workerman.Worker) {
		ch, err := channel.Connect("127.0.0.1:2206", nil)
		if err != nil {
			panic(err)
		}
		hub = push.New(ch, w)
	}
	ws.OnMessage = func(c *workerman.Connection, data any) {
		if hub.Uid(c) == "" {
			hub.BindUid(c, fmt.Sprint(data))
			hub.JoinGroup(c, "lobby")
		}
	}

	api := workerman.NewWorker("http://0.0.0.0:8002")
	var sender *push.Hub
	api.OnWorkerStart = func(*workerman.Worker) {
		ch, _ := channel.Connect("127.0.0.1:2206", nil)
		sender = push.New(ch, nil)
	}
	api.OnMessage = func(c *workerman.Connection, data any) {
		sender.SendToUid("uid1", `{"percent":"88%"}`)
		c.Send("ok")
	}

	workerman.RunAll()
}

// A plain Go program (a cron job, an admin tool) sends to a group and asks
// who is online.
func ExampleHub_SendToGroup() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ch, err := channel.Dial(ctx, "127.0.0.1:2206", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ch.Close()
	hub := push.New(ch, nil)
	hub.SendToGroup("lobby", "maintenance at 22:00")
	online, err := hub.IsUidOnlineContext(ctx, "uid1")
	fmt.Println(online, err)
}
