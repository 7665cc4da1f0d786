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
// Four workers: an HTTP worker (two processes) serves the embedded page; a
// WebSocket worker (two processes) and a text worker (one process) hold the
// browsers and the terminals; a channel server ties the processes into one
// room, through the push package's groups. On several hosts, set
// WEBCHAT_CHANNEL to the same NATS or Redis address on every host (such as
// nats://10.0.0.1:4222,nats://10.0.0.2:4222 or redis://10.0.0.1:6379): the
// room then spans the hosts, and no channel server is started. Try ./bin/webchat status,
// reload, connections and stop from another terminal: on reload the page
// says the server is restarting and reconnects by itself, keeping its
// nickname.
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
	"github.com/workerman-go/workerman/channel"
	"github.com/workerman-go/workerman/protocols/http"
	"github.com/workerman-go/workerman/protocols/websocket"
	"github.com/workerman-go/workerman/push"
)

// room is the chat's one group.
const room = "room"

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
	// the next two, and the channel server the third, on 127.0.0.1) and
	// WEBCHAT_PIDFILE move the demo elsewhere.
	host := envOr("WEBCHAT_HOST", "0.0.0.0")
	port, err := strconv.Atoi(envOr("WEBCHAT_PORT", "8080"))
	if err != nil || port < 1 || port > 65532 {
		log.Fatalf("WEBCHAT_PORT: want a port number below 65533, got %q", os.Getenv("WEBCHAT_PORT"))
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

	// The room spans processes: a channel server relays between them, and
	// each process's hub sends to the members of the room it holds.
	// WEBCHAT_CHANNEL spans hosts instead: every host runs this program
	// with the same setting, an address for channel.Connect (nats://...,
	// redis://..., or a channel server's host:port), and no server of its
	// own.
	channelAddr := os.Getenv("WEBCHAT_CHANNEL")
	if channelAddr == "" {
		channelAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port+3))
		channel.NewServer(channelAddr)
	}

	chat := workerman.NewWorker(addr("websocket", 1))
	chat.Name = "chat"
	chat.Count = 2
	// A socket per process: the kernel spreads the browsers over both
	// processes (a shared accept queue would give every new connection to
	// whichever process is idle, so long-lived ones pile up on one).
	chat.ReusePort = true
	chat.Protocol = &websocket.Server{
		PingInterval: 25 * time.Second,
		IdleTimeout:  60 * time.Second,
		Compression:  true,
	}
	term := workerman.NewWorker(addr("text", 2))
	term.Name = "terminal"

	// Both workers run the same room code: browsers on the WebSocket
	// worker, terminals on the text worker, each in its own processes.
	for _, w := range []*workerman.Worker{chat, term} {
		var hub *push.Hub
		w.OnWorkerStart = func(w *workerman.Worker) {
			ch, err := channel.Connect(channelAddr, nil)
			if err != nil {
				log.Fatal(err)
			}
			hub = push.New(ch, w)
		}
		say := func(line string) {
			if err := hub.SendToGroup(room, line); err != nil {
				log.Printf("chat: %v", err)
			}
		}
		w.OnConnect = func(c *workerman.Connection) {
			// Names are unique across processes: worker, process, connection.
			name := fmt.Sprintf("guest%s%d-%d", w.Name[:1], w.ID, c.ID)
			c.UserData = name
			hub.JoinGroup(c, room)
			c.Send("you are " + name + "; type /nick NAME to rename")
			hub.GroupCount(room, func(n int, err error) {
				if err == nil {
					say(fmt.Sprintf("%s joined (%d here)", name, n))
				}
			})
		}
		w.OnMessage = func(c *workerman.Connection, data any) {
			text := strings.TrimSpace(fmt.Sprint(data))
			if text == "" {
				return
			}
			if nick, ok := strings.CutPrefix(text, "/nick "); ok {
				old := c.UserData.(string)
				c.UserData = strings.TrimSpace(nick)
				say(old + " is now " + c.UserData.(string))
				return
			}
			say(c.UserData.(string) + ": " + text)
		}
		w.OnClose = func(c *workerman.Connection) {
			if name, ok := c.UserData.(string); ok {
				say(name + " left")
			}
		}
	}

	// A reload (or a stop) says goodbye: browsers get a WebSocket close
	// frame with code 1001 from the framework, and the page reconnects by
	// itself; terminals have no such frame, so they are told in words.
	term.OnWorkerStop = func(w *workerman.Worker) {
		for _, c := range w.Connections {
			c.Close("* the server is restarting or stopping; connect again in a moment")
		}
	}

	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
