// Command pushhost is one host of the push tests, run as a process of its
// own so that a test can kill it or freeze it: a text worker on
// PUSH_LISTEN (SingleProcess) with a hub on the channel backend at
// PUSH_CHANNEL. Its users say "bind UID" or "join GROUP"; it answers
// "ok", and sends them what the hub delivers.
package main

import (
	"os"
	"strings"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/channel"
	"github.com/workerman-go/workerman/push"
)

func main() {
	workerman.SingleProcess = true
	w := workerman.NewWorker("text://" + os.Getenv("PUSH_LISTEN"))
	var hub *push.Hub
	w.OnWorkerStart = func(w *workerman.Worker) {
		ch, err := channel.Connect(os.Getenv("PUSH_CHANNEL"), nil)
		if err != nil {
			panic(err)
		}
		hub = push.New(ch, w)
	}
	w.OnMessage = func(c *workerman.Connection, data any) {
		cmd, arg, _ := strings.Cut(data.(string), " ")
		switch cmd {
		case "bind":
			hub.BindUid(c, arg)
		case "join":
			hub.JoinGroup(c, arg)
		}
		c.Send("ok")
	}
	workerman.RunAll()
}
