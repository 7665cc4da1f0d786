// Command simplechat is the chat room of the manual's 开发流程 chapter: a
// text-protocol server where every line a client sends is broadcast to all.
//
//	go run ./examples/simplechat start
//	telnet 127.0.0.1 2347
package main

import (
	"fmt"
	"log"

	"github.com/workerman-go/workerman"
)

func main() {
	globalUID := 0
	textWorker := workerman.NewWorker("text://0.0.0.0:2347")
	// One process, so that every client is in the same Connections map.
	textWorker.Count = 1
	textWorker.Name = "SimpleChat"
	textWorker.OnConnect = func(c *workerman.Connection) {
		globalUID++
		c.UserData = globalUID
	}
	textWorker.OnMessage = func(c *workerman.Connection, data any) {
		for _, conn := range textWorker.Connections {
			conn.Send(fmt.Sprintf("user[%d] said: %s", c.UserData, data))
		}
	}
	textWorker.OnClose = func(c *workerman.Connection) {
		for _, conn := range textWorker.Connections {
			conn.Send(fmt.Sprintf("user[%d] logout", c.UserData))
		}
	}
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
