// Command webchat is the project's demonstration server, with nothing to
// install or configure: a chat room that browsers join over WebSocket and
// terminals join over the text protocol, in one room.
//
//	go build -o bin/webchat ./examples/webchat && bin/webchat start
//
// then open http://127.0.0.1:8080/ in a browser, and/or
//
//	telnet 127.0.0.1 8082
//
// Three workers: an HTTP worker (two processes) serves the embedded page;
// a WebSocket worker (one process, so every browser is in one map) runs the
// room; inside that process, an inner text worker started in OnWorkerStart
// lets terminal users join the same room. Try ./bin/webchat status,
// reload, connections and stop from another terminal.
package main

import (
	_ "embed"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/protocols/http"
	"github.com/workerman-go/workerman/protocols/websocket"
)

//go:embed index.html
var page string

func main() {
	host := os.Getenv("WEBCHAT_HOST")
	if host == "" {
		host = "0.0.0.0"
	}
	workerman.PidFile = os.TempDir() + "/workerman-webchat.pid"

	web := workerman.NewWorker("http://" + host + ":8080")
	web.Name = "web"
	web.Count = 2
	web.OnMessage = func(c *workerman.Connection, data any) {
		r := data.(*http.Request)
		if r.Path() != "/" {
			c.Send(http.NewResponse(404, nil, "not found\n"))
			return
		}
		c.Send(http.NewResponse(200, map[string]string{"Content-Type": "text/html; charset=utf-8"}, page))
	}

	chat := workerman.NewWorker("websocket://" + host + ":8081")
	chat.Name = "chat"
	chat.Count = 1 // one room, one process
	chat.Protocol = &websocket.Server{
		PingInterval: 25 * time.Second,
		IdleTimeout:  60 * time.Second,
		Compression:  true,
	}
	// Everyone in the room: browsers on the WebSocket worker, terminals on
	// the inner text worker. Both live in this one process.
	room := map[*workerman.Connection]string{}
	nextGuest := 0
	say := func(line string) {
		for c := range room {
			c.Send(line)
		}
	}
	join := func(c *workerman.Connection) {
		nextGuest++
		name := fmt.Sprintf("guest%d", nextGuest)
		room[c] = name
		c.Send("you are " + name + "; type /nick NAME to rename")
		say(name + " joined (" + fmt.Sprint(len(room)) + " here)")
	}
	message := func(c *workerman.Connection, data any) {
		text := strings.TrimSpace(fmt.Sprint(data))
		if text == "" {
			return
		}
		if nick, ok := strings.CutPrefix(text, "/nick "); ok {
			old := room[c]
			room[c] = strings.TrimSpace(nick)
			say(old + " is now " + room[c])
			return
		}
		say(room[c] + ": " + text)
	}
	leave := func(c *workerman.Connection) {
		if name, ok := room[c]; ok {
			delete(room, c)
			say(name + " left")
		}
	}
	chat.OnConnect = join
	chat.OnMessage = message
	chat.OnClose = leave
	chat.OnWorkerStart = func(*workerman.Worker) {
		term := workerman.NewWorker("text://" + host + ":8082")
		term.Name = "terminal"
		term.OnConnect = join
		term.OnMessage = message
		term.OnClose = leave
		if err := term.Listen(); err != nil {
			log.Printf("terminal port: %v", err)
		}
	}

	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
