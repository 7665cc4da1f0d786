// Command asynctask is the manual's 如何实现异步任务: heavy work goes to a
// pool of task processes speaking the text protocol, and the WebSocket
// service that receives requests gets the result asynchronously, so it is
// never blocked.
//
//	go run ./examples/asynctask start
//	// in a browser console:
//	ws = new WebSocket("ws://127.0.0.1:8080"); ws.onmessage = e => console.log(e.data)
//	ws.send(JSON.stringify({function: "send_mail", args: {to: "tom"}}))
//
// TASK_LISTEN and FRONT_LISTEN override the two addresses.
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"os"
	"strings"

	"github.com/workerman-go/workerman"
	_ "github.com/workerman-go/workerman/protocols/websocket"
)

// Task is what the front service sends to a task process.
type Task struct {
	Function string            `json:"function"`
	Args     map[string]string `json:"args"`
}

// Result is what a task process answers.
type Result struct {
	Function string `json:"function"`
	OK       bool   `json:"ok"`
	Detail   string `json:"detail"`
}

// runTask does the slow work of one task. It runs in a task process, where
// blocking is fine: each process serves one task at a time.
func runTask(t Task) Result {
	switch t.Function {
	case "send_mail":
		// Sending mail would happen here.
		return Result{t.Function, true, fmt.Sprintf("mail from %s to %s sent", t.Args["from"], t.Args["to"])}
	case "upper":
		return Result{t.Function, true, strings.ToUpper(t.Args["text"])}
	}
	return Result{t.Function, false, "unknown function"}
}

// newTaskWorker is the task service: text protocol, one JSON task per line,
// one JSON result per line.
func newTaskWorker(listen string) *workerman.Worker {
	w := workerman.NewWorker(listen)
	w.Count = 8 // the manual suggests many: tasks block their process
	w.Name = "TaskWorker"
	w.OnMessage = func(c *workerman.Connection, data any) {
		var t Task
		if err := json.Unmarshal([]byte(data.(string)), &t); err != nil {
			c.Send(`{"ok":false,"detail":"bad task"}`)
			return
		}
		b, _ := json.Marshal(runTask(t))
		c.Send(string(b))
	}
	return w
}

// newFrontWorker is the WebSocket service: each message becomes a task
// sent over a new asynchronous connection to taskAddress
// ("text://127.0.0.1:12345"); the result goes back to the browser.
func newFrontWorker(listen, taskAddress string) *workerman.Worker {
	w := workerman.NewWorker(listen)
	w.OnMessage = func(wsConn *workerman.Connection, message any) {
		// An asynchronous connection to the task service.
		taskConn, err := workerman.NewAsyncTcpConnection(taskAddress, nil)
		if err != nil {
			slog.Error("task address", "err", err)
			return
		}
		// The task and its arguments, as JSON, sent as soon as connected.
		taskConn.Send(message)
		// The result arrives asynchronously.
		taskConn.OnMessage = func(taskConn *workerman.Connection, result any) {
			// Close the task connection once the result is in.
			taskConn.Close()
			// Tell the WebSocket client that the task is complete.
			wsConn.Send("task complete: " + result.(string))
		}
		taskConn.OnError = func(_ *workerman.Connection, code int, msg string) {
			wsConn.Send("task failed: " + msg)
		}
		taskConn.Connect()
	}
	return w
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	taskListen := env("TASK_LISTEN", "text://127.0.0.1:12345")
	newTaskWorker(taskListen)
	newFrontWorker(env("FRONT_LISTEN", "websocket://0.0.0.0:8080"), taskListen)
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
