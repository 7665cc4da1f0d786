package workerman_test

// The manual's examples for the core chapters, translated to Go and run
// over real sockets: the SimpleChat of 开发流程, the timed broadcast and
// group chat of 如何广播数据, the heartbeat of 心跳, closing unauthenticated
// connections, pushing to a uid, and pushing from another project through
// an inner text worker started in OnWorkerStart.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

type lineClient struct {
	net.Conn
	r *bufio.Reader
}

func dialLines(t *testing.T, addr string) *lineClient {
	c := dial(t, "tcp", addr)
	return &lineClient{c, bufio.NewReader(c)}
}

func (l *lineClient) send(t *testing.T, s string) {
	t.Helper()
	if _, err := l.Write([]byte(s + "\n")); err != nil {
		t.Fatal(err)
	}
}

func (l *lineClient) expect(t *testing.T, want string) {
	t.Helper()
	line, err := l.r.ReadString('\n')
	if err != nil {
		t.Fatalf("want %q, got error %v", want, err)
	}
	if got := strings.TrimRight(line, "\n"); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func (l *lineClient) expectClosed(t *testing.T) {
	t.Helper()
	if _, err := l.r.ReadString('\n'); err != io.EOF {
		t.Fatalf("want the server to close the connection, got %v", err)
	}
}

// TestManualSimpleChat is the chat room of 开发流程.
func TestManualSimpleChat(t *testing.T) {
	globalUID := 0
	textWorker := workerman.NewWorker("text://127.0.0.1:0")
	textWorker.Count = 1
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
	addr := wmtest.Serve(t, textWorker)
	a := dialLines(t, addr)
	b := dialLines(t, addr)
	a.send(t, "hi")
	a.expect(t, "user[1] said: hi")
	b.expect(t, "user[1] said: hi")
	b.send(t, "hello")
	a.expect(t, "user[2] said: hello")
	b.expect(t, "user[2] said: hello")
	b.Close()
	a.expect(t, "user[2] logout")
}

// TestManualTimedBroadcast is 如何广播数据's timed broadcast: every
// interval, every connection gets the time.
func TestManualTimedBroadcast(t *testing.T) {
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnWorkerStart = func(w *workerman.Worker) {
		workerman.Timer.Add(10*time.Millisecond, func() {
			for _, c := range w.Connections {
				c.Send("tick")
			}
		})
	}
	addr := wmtest.Serve(t, w)
	t.Cleanup(func() { wmtest.Do(workerman.Timer.DelAll) })
	a := dialLines(t, addr)
	b := dialLines(t, addr)
	for i := 0; i < 3; i++ {
		a.expect(t, "tick")
		b.expect(t, "tick")
	}
}

// TestManualHeartbeat is 心跳示例 with a heartbeat of 150ms instead of 25s:
// silent clients are closed, talking ones stay.
func TestManualHeartbeat(t *testing.T) {
	const heartbeat = 150 * time.Millisecond
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, msg any) {
		c.UserData = time.Now() // lastMessageTime
		c.Send("pong")
	}
	var timer int
	w.OnWorkerStart = func(w *workerman.Worker) {
		timer = workerman.Timer.Add(20*time.Millisecond, func() {
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
	addr := wmtest.Serve(t, w)
	t.Cleanup(func() { wmtest.Do(func() { workerman.Timer.Del(timer) }) })
	silent := dialLines(t, addr)
	talker := dialLines(t, addr)
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := silent.r.ReadString('\n')
		done <- err
	}()
	for time.Since(start) < 4*heartbeat {
		talker.send(t, "ping")
		talker.expect(t, "pong")
		time.Sleep(heartbeat / 4)
	}
	select {
	case err := <-done:
		if err != io.EOF {
			t.Fatalf("silent client: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("silent client was never closed")
	}
	if time.Since(start) < heartbeat {
		t.Fatal("silent client closed before the heartbeat interval")
	}
	talker.send(t, "ping")
	talker.expect(t, "pong")
}

// TestManualCloseUnauthenticated is 关闭未认证的连接: a connection that does
// not log in within the deadline is closed; one that does stays open.
func TestManualCloseUnauthenticated(t *testing.T) {
	type authState struct{ timerID int }
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnConnect = func(c *workerman.Connection) {
		c.UserData = &authState{timerID: workerman.Timer.Once(100*time.Millisecond, func() {
			c.Close()
		})}
	}
	w.OnMessage = func(c *workerman.Connection, msg any) {
		switch msg.(string) {
		case "login":
			workerman.Timer.Del(c.UserData.(*authState).timerID)
			c.Send("welcome")
		default:
			c.Send("echo " + msg.(string))
		}
	}
	addr := wmtest.Serve(t, w)
	anon := dialLines(t, addr)
	user := dialLines(t, addr)
	user.send(t, "login")
	user.expect(t, "welcome")
	anon.expectClosed(t)
	time.Sleep(150 * time.Millisecond)
	user.send(t, "still here")
	user.expect(t, "echo still here")
}

// TestManualPushToUID is 向指定客户端发送数据 over the text protocol: the
// first package is the uid; "uid:message" sends to one, "all:message" to
// everyone.
func TestManualPushToUID(t *testing.T) {
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.Count = 1
	uidConnections := map[string]*workerman.Connection{}
	broadcast := func(message string) {
		for _, c := range uidConnections {
			c.Send(message)
		}
	}
	sendMessageByUID := func(uid, message string) {
		if c, ok := uidConnections[uid]; ok {
			c.Send(message)
		}
	}
	w.OnMessage = func(c *workerman.Connection, data any) {
		msg := data.(string)
		if c.UserData == nil {
			c.UserData = msg
			uidConnections[msg] = c
			c.Send("login success, your uid is " + msg)
			return
		}
		recvUID, message, _ := strings.Cut(msg, ":")
		if recvUID == "all" {
			broadcast(message)
		} else {
			sendMessageByUID(recvUID, message)
		}
	}
	w.OnClose = func(c *workerman.Connection) {
		if uid, ok := c.UserData.(string); ok {
			delete(uidConnections, uid)
		}
	}
	addr := wmtest.Serve(t, w)
	alice, bob := dialLines(t, addr), dialLines(t, addr)
	alice.send(t, "alice")
	alice.expect(t, "login success, your uid is alice")
	bob.send(t, "bob")
	bob.expect(t, "login success, your uid is bob")
	alice.send(t, "bob:hello bob")
	bob.expect(t, "hello bob")
	bob.send(t, "all:hello all")
	alice.expect(t, "hello all")
	bob.expect(t, "hello all")
}

// TestManualInnerWorkerPush is 在其它项目中推送: a front worker for clients
// and, created in its OnWorkerStart, an inner text worker through which
// another program pushes JSON-ish "uid message" commands.
func TestManualInnerWorkerPush(t *testing.T) {
	front := workerman.NewWorker("text://127.0.0.1:0")
	byUID := map[string]*workerman.Connection{}
	innerAddr := make(chan string, 1)
	front.OnWorkerStart = func(w *workerman.Worker) {
		inner := workerman.NewWorker("text://127.0.0.1:0")
		inner.OnMessage = func(c *workerman.Connection, data any) {
			uid, msg, _ := strings.Cut(data.(string), " ")
			if to, ok := byUID[uid]; ok {
				to.Send(msg)
				c.Send("ok")
			} else {
				c.Send("fail")
			}
		}
		if err := inner.Listen(); err != nil {
			t.Error(err)
			return
		}
		innerAddr <- inner.Addr().String()
		// Stop the inner worker with the front one.
		front.OnWorkerStop = func(*workerman.Worker) { inner.Stop() }
	}
	front.OnMessage = func(c *workerman.Connection, data any) {
		byUID[data.(string)] = c
		c.Send("registered")
	}
	addr := wmtest.Serve(t, front)
	client := dialLines(t, addr)
	client.send(t, "u1")
	client.expect(t, "registered")
	pusher := dialLines(t, <-innerAddr)
	pusher.send(t, "u1 you have mail")
	pusher.expect(t, "ok")
	client.expect(t, "you have mail")
	pusher.send(t, "u2 nobody")
	pusher.expect(t, "fail")
}
