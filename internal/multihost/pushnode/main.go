//go:build unix

// Command pushnode is the program that every host runs in the multi-host
// test and the cross-host fan-out benchmark: a WebSocket worker whose
// processes each make a push.Hub on a channel client, so that a connection
// on one host can be bound to a uid, join groups, and send to uids and
// groups held by any host.
//
//	pushnode -listen 10.77.0.1:8090 -channel nats://10.77.0.1:4222,nats://10.77.0.2:4222 -name a start
//
// -channel is what channel.Connect takes: host:port for the embedded channel
// server (run elsewhere, such as cmd/channel-server), nats://... or
// redis://... for those backends.
//
// A client speaks in text frames, one command each:
//
//	bind UID               BindUid        → "ok bind UID"
//	join GROUP             JoinGroup      → "ok join GROUP"
//	leave GROUP            LeaveGroup     → "ok leave GROUP"
//	touid UID TEXT         SendToUid      → "ok touid"
//	togroup GROUP TEXT     SendToGroup    → "ok togroup"
//	online UID             IsUidOnline    → "online UID true|false"
//	count GROUP            GroupCount     → "count GROUP N"
//
// with "err ..." instead when a call fails. Each connection is greeted with
// "hello NAME ID" (this host's -name, the worker process's id) once its
// handshake is done, and TEXT sent to it arrives as a text frame of its own.
// The channel client's link changes are logged to stdout as "channel up
// NAME ID" and "channel down NAME ID: REASON".
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/channel"
	"github.com/workerman-go/workerman/protocols/websocket"
	"github.com/workerman-go/workerman/push"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "WebSocket address, host:port")
	chanAddr := flag.String("channel", channel.DefaultAddress, "the channel backend, as channel.Connect takes it")
	name := flag.String("name", "node", "this host's name, in greetings and logs")
	count := flag.Int("count", 2, "WebSocket worker processes")
	dir := flag.String("dir", os.TempDir(), "directory of the pid file and the log")
	flag.Parse()

	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	workerman.PidFile = filepath.Join(*dir, "pushnode-"+*name+".pid")
	workerman.LogFile = filepath.Join(*dir, "pushnode-"+*name+".log")

	ws := workerman.NewWorker("websocket://" + *listen)
	ws.Name = "pushnode"
	ws.Count = *count
	// A socket per process, so that the kernel spreads the connections.
	ws.ReusePort = true
	var (
		hub      *push.Hub
		greeting string
	)
	ws.Protocol = &websocket.Server{
		OnWebSocketConnect: func(c *workerman.Connection, _ *http.Request) { c.Send(greeting) },
	}
	ws.OnWorkerStart = func(w *workerman.Worker) {
		greeting = fmt.Sprintf("hello %s %d", *name, w.ID)
		ch, err := channel.Connect(*chanAddr, &channel.Options{
			OnConnect: func() { fmt.Printf("channel up %s %d\n", *name, w.ID) },
			OnDisconnect: func(reason string) {
				fmt.Printf("channel down %s %d: %s\n", *name, w.ID, reason)
			},
		})
		if err != nil {
			log.Fatal(err)
		}
		hub = push.New(ch, w)
	}
	ws.OnMessage = func(c *workerman.Connection, data any) {
		if reply := command(hub, c, fmt.Sprint(data)); reply != "" {
			c.Send(reply)
		}
	}
	if err := workerman.RunAllArgs(flag.Args()); err != nil {
		log.Fatal(err)
	}
}

// command runs one client command and returns the reply; queries reply
// later, from their callbacks, and return "".
func command(hub *push.Hub, c *workerman.Connection, line string) string {
	verb, rest, _ := strings.Cut(line, " ")
	arg, text, _ := strings.Cut(rest, " ")
	if arg == "" {
		return "err " + verb + ": missing argument"
	}
	var err error
	switch verb {
	case "bind":
		err = hub.BindUid(c, arg)
	case "join":
		err = hub.JoinGroup(c, arg)
	case "leave":
		hub.LeaveGroup(c, arg)
	case "touid":
		err = hub.SendToUid(arg, text)
	case "togroup":
		err = hub.SendToGroup(arg, text)
	case "online":
		hub.IsUidOnline(arg, func(on bool, err error) {
			if err != nil {
				c.Send("err online: " + err.Error())
				return
			}
			c.Send(fmt.Sprintf("online %s %t", arg, on))
		})
		return ""
	case "count":
		hub.GroupCount(arg, func(n int, err error) {
			if err != nil {
				c.Send("err count: " + err.Error())
				return
			}
			c.Send(fmt.Sprintf("count %s %d", arg, n))
		})
		return ""
	default:
		return "err unknown command " + verb
	}
	if err != nil {
		return "err " + verb + ": " + err.Error()
	}
	if verb == "touid" || verb == "togroup" {
		return "ok " + verb
	}
	return "ok " + verb + " " + arg
}
