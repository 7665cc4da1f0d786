package channel_test

import (
	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/channel"
)

// The same program on several hosts: every process connects to a NATS
// cluster instead of a Channel server, and only the address changes.
// Publishes made while the cluster is unreachable wait in the client's
// queue; OnDisconnect tells the application that events may be missed.
func ExampleConnect_nats() {
	ws := workerman.NewWorker("websocket://0.0.0.0:4236")
	ws.Count = 2
	var ch *channel.Client
	ws.OnWorkerStart = func(w *workerman.Worker) {
		var err error
		ch, err = channel.Connect("nats://10.0.0.1:4222,nats://10.0.0.2:4222,nats://10.0.0.3:4222", &channel.Options{
			OnDisconnect: func(reason string) { workerman.Logger().Warn("broadcasts may be missed", "reason", reason) },
		})
		if err != nil {
			panic(err)
		}
		ch.On("broadcast", func(d channel.Data) {
			for _, c := range w.Connections {
				c.Send(d.String())
			}
		})
	}
	ws.OnMessage = func(c *workerman.Connection, data any) {
		if err := ch.Publish("broadcast", data); err != nil {
			c.Send("not sent: " + err.Error())
		}
	}
	workerman.RunAll()
}
