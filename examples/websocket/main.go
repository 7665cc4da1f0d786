// Command websocket is the manual's push example: browsers connect to
// ws://127.0.0.1:1234 and send their uid first; another system pushes to a
// uid through the text port 5678 with a JSON line such as
// {"uid":"uid1","percent":"88%"}, and gets "ok" or "fail" back.
//
//	go run ./examples/websocket
//	echo '{"uid":"uid1","percent":"88%"}' | nc 127.0.0.1 5678
//
// In the browser console:
//
//	ws = new WebSocket('ws://127.0.0.1:1234');
//	ws.onopen = () => ws.send('uid1');
//	ws.onmessage = (e) => alert(e.data);
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/protocols/websocket"
)

func main() {
	worker := workerman.NewWorker("websocket://0.0.0.0:1234")
	// The uid map lives in one process.
	worker.Count = 1
	worker.Protocol = &websocket.Server{
		Compression: true,
		// Ping clients silent for 25 s, close those silent for 60 s.
		PingInterval: 25 * time.Second,
		IdleTimeout:  60 * time.Second,
		OnWebSocketConnect: func(c *workerman.Connection, r *http.Request) {
			// Behind nginx, the client's address is in X-Real-IP.
			if ip := r.Header.Get("X-Real-IP"); ip != "" {
				log.Printf("connection %d from %s", c.ID, ip)
			}
		},
	}
	uidConnections := map[string]*workerman.Connection{}

	sendMessageByUID := func(uid, message string) bool {
		if c, ok := uidConnections[uid]; ok {
			c.Send(message)
			return true
		}
		return false
	}

	worker.OnWorkerStart = func(*workerman.Worker) {
		inner := workerman.NewWorker("text://0.0.0.0:5678")
		inner.OnMessage = func(c *workerman.Connection, buffer any) {
			var data struct {
				UID string `json:"uid"`
			}
			if err := json.Unmarshal([]byte(buffer.(string)), &data); err != nil {
				c.Send("fail")
				return
			}
			if sendMessageByUID(data.UID, buffer.(string)) {
				c.Send("ok")
			} else {
				c.Send("fail")
			}
		}
		if err := inner.Listen(); err != nil {
			log.Fatal(err)
		}
	}
	worker.OnMessage = func(c *workerman.Connection, data any) {
		if c.UserData == nil {
			uid, ok := data.(string)
			if !ok {
				return
			}
			c.UserData = uid
			uidConnections[uid] = c
		}
	}
	worker.OnClose = func(c *workerman.Connection) {
		if uid, ok := c.UserData.(string); ok {
			delete(uidConnections, uid)
		}
	}
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
