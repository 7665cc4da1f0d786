package workerman_test

import (
	"fmt"
	"time"

	"github.com/workerman-go/workerman"
)

// A text-protocol server: each line is a message, each Send a line.
func ExampleNewWorker() {
	w := workerman.NewWorker("text://0.0.0.0:5678")
	w.Count = 4
	w.OnConnect = func(c *workerman.Connection) {
		fmt.Println("new connection from", c.RemoteAddress())
	}
	w.OnMessage = func(c *workerman.Connection, data any) {
		c.Send("hello " + data.(string))
	}
	w.OnClose = func(c *workerman.Connection) {
		fmt.Println("connection closed")
	}
	// workerman.RunAll() would now serve until stopped.
}

// A heartbeat that closes connections silent for longer than 25 seconds,
// from the manual's 心跳 chapter.
func ExampleTimers_Add() {
	const heartbeat = 25 * time.Second
	w := workerman.NewWorker("text://0.0.0.0:1234")
	w.OnMessage = func(c *workerman.Connection, msg any) {
		c.UserData = time.Now() // last message time
	}
	w.OnWorkerStart = func(w *workerman.Worker) {
		workerman.Timer.Add(time.Second, func() {
			now := time.Now()
			for _, c := range w.Connections {
				last, ok := c.UserData.(time.Time)
				if !ok {
					c.UserData = now
					continue
				}
				if now.Sub(last) > heartbeat {
					c.Close()
				}
			}
		})
	}
}

// A TCP proxy: every client connection is piped to a backend and back,
// with flow control in both directions.
func ExampleConnection_Pipe() {
	w := workerman.NewWorker("tcp://0.0.0.0:8483")
	w.OnConnect = func(c *workerman.Connection) {
		backend, err := workerman.NewAsyncTcpConnection("tcp://127.0.0.1:3306", nil)
		if err != nil {
			c.Close()
			return
		}
		c.Pipe(backend)
		backend.Pipe(c)
		backend.Connect()
	}
}

// A protocol of your own: JSON objects, one per line (the manual's JsonNL).
type jsonLines struct{}

func (jsonLines) Input(buf []byte, c *workerman.Connection) (int, error) {
	return workerman.Text.Input(buf, c)
}

func (jsonLines) Decode(pkg []byte, c *workerman.Connection) (any, error) {
	return string(pkg[:len(pkg)-1]), nil // a real one would json.Unmarshal
}

func (jsonLines) Encode(dst []byte, data any, c *workerman.Connection) ([]byte, error) {
	return fmt.Appendf(dst, "%q\n", data), nil
}

func ExampleRegisterProtocol() {
	if err := workerman.RegisterProtocol("JsonLines", jsonLines{}); err != nil {
		panic(err)
	}
	w := workerman.NewWorker("JsonLines://0.0.0.0:1234")
	w.OnMessage = func(c *workerman.Connection, data any) {
		c.Send(map[string]any{"code": 0, "msg": "ok"})
	}
	p, ok := workerman.LookupProtocol("jsonlines")
	fmt.Println(ok, p != nil)
	// Output: true true
}

// Blocking work (a database query, an HTTP call) runs off the loop; its
// result comes back as a callback on the loop.
func ExampleAsync() {
	w := workerman.NewWorker("text://0.0.0.0:1235")
	w.OnMessage = func(c *workerman.Connection, data any) {
		workerman.Async(func() (string, error) {
			time.Sleep(10 * time.Millisecond) // stands for a slow query
			return "result for " + data.(string), nil
		}, func(result string, err error) {
			if err != nil {
				c.Send("error: " + err.Error())
				return
			}
			c.Send(result)
		})
	}
}
