package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// TestAsyncTask sends tasks through the WebSocket front service, which
// hands them to the text task service over asynchronous connections.
func TestAsyncTask(t *testing.T) {
	taskAddr := wmtest.Serve(t, newTaskWorker("text://127.0.0.1:0"))
	frontAddr := wmtest.Serve(t, newFrontWorker("websocket://127.0.0.1:0", "text://"+taskAddr))

	replies := make(chan string, 16)
	var ws *workerman.Connection
	wmtest.Do(func() {
		var err error
		ws, err = workerman.NewAsyncTcpConnection("ws://"+frontAddr+"/", nil)
		if err != nil {
			t.Error(err)
			return
		}
		ws.OnMessage = func(_ *workerman.Connection, data any) { replies <- data.(string) }
		ws.OnConnect = func(c *workerman.Connection) {
			for _, task := range []Task{
				{"send_mail", map[string]string{"from": "a@x", "to": "b@y"}},
				{"upper", map[string]string{"text": "hello"}},
				{"nosuch", nil},
			} {
				b, _ := json.Marshal(task)
				c.Send(string(b))
			}
			c.Send("not json")
		}
		ws.Connect()
	})
	want := map[string]bool{
		`{"function":"send_mail","ok":true,"detail":"mail from a@x to b@y sent"}`: true,
		`{"function":"upper","ok":true,"detail":"HELLO"}`:                         true,
		`{"function":"nosuch","ok":false,"detail":"unknown function"}`:            true,
		`{"ok":false,"detail":"bad task"}`:                                        true,
	}
	for range 4 {
		select {
		case r := <-replies:
			res, ok := strings.CutPrefix(r, "task complete: ")
			if !ok || !want[res] {
				t.Fatalf("unexpected reply %q", r)
			}
			delete(want, res)
		case <-time.After(15 * time.Second):
			t.Fatalf("missing replies: %v", want)
		}
	}
	// Every task connection was closed after its result.
	waitConns := time.Now().Add(10 * time.Second)
	for {
		n := int64(-1)
		wmtest.Do(func() { n = workerman.ProcessStats().Connections })
		// The front connection of the WebSocket client remains.
		if n == 1 {
			break
		}
		if time.Now().After(waitConns) {
			t.Fatalf("%d connections still open, want only the WebSocket one", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wmtest.Do(func() { ws.Close() })
}

// TestAsyncTaskServiceDown reports a task service that cannot be reached.
func TestAsyncTaskServiceDown(t *testing.T) {
	frontAddr := wmtest.Serve(t, newFrontWorker("websocket://127.0.0.1:0", "text://127.0.0.1:1"))
	replies := make(chan string, 1)
	wmtest.Do(func() {
		ws, _ := workerman.NewAsyncTcpConnection("ws://"+frontAddr+"/", nil)
		ws.OnMessage = func(_ *workerman.Connection, data any) { replies <- data.(string) }
		ws.OnConnect = func(c *workerman.Connection) { c.Send(`{"function":"upper"}`) }
		ws.Connect()
	})
	select {
	case r := <-replies:
		if !strings.HasPrefix(r, "task failed: connect to text://127.0.0.1:1 fail") {
			t.Fatalf("reply %q", r)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no reply")
	}
}
