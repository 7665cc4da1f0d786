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
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/protocols/http"
	"github.com/workerman-go/workerman/protocols/websocket"
)

//go:embed index.html
var pageTemplate string

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	// WEBCHAT_HOST, WEBCHAT_PORT (the HTTP port; WebSocket and text use
	// the next two) and WEBCHAT_PIDFILE move the demo elsewhere.
	host := envOr("WEBCHAT_HOST", "0.0.0.0")
	port, err := strconv.Atoi(envOr("WEBCHAT_PORT", "8080"))
	if err != nil || port < 1 || port > 65533 {
		log.Fatalf("WEBCHAT_PORT: want a port number below 65534, got %q", os.Getenv("WEBCHAT_PORT"))
	}
	workerman.PidFile = envOr("WEBCHAT_PIDFILE", os.TempDir()+"/workerman-webchat.pid")
	addr := func(scheme string, offset int) string {
		return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port+offset))
	}
	page := strings.ReplaceAll(pageTemplate, "WS_PORT", strconv.Itoa(port+1))

	web := workerman.NewWorker(addr("http", 0))
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

	chat := workerman.NewWorker(addr("websocket", 1))
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
		term := workerman.NewWorker(addr("text", 2))
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
