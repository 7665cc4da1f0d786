package push_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/channel"
	"github.com/workerman-go/workerman/internal/wmtest"
	"github.com/workerman-go/workerman/push"
)

// node is a text worker with its own channel client and hub, as one worker
// process of a program would have. Its users say "bind UID", "join G",
// "leave G" or "unbind"; it answers "ok" once the hub has the request.
type node struct {
	w   *workerman.Worker
	ch  *channel.Client
	hub *push.Hub
}

func newNode(t *testing.T, chAddr string) (*node, string) {
	t.Helper()
	n := &node{w: workerman.NewWorker("text://127.0.0.1:0")}
	n.w.OnWorkerStart = func(w *workerman.Worker) {
		var err error
		if n.ch, err = channel.Connect(chAddr, nil); err != nil {
			t.Error(err)
			return
		}
		n.hub = push.New(n.ch, w)
	}
	n.w.OnMessage = func(c *workerman.Connection, data any) {
		cmd, arg, _ := strings.Cut(data.(string), " ")
		switch cmd {
		case "bind":
			n.hub.BindUid(c, arg)
		case "unbind":
			n.hub.UnbindUid(c)
		case "join":
			n.hub.JoinGroup(c, arg)
		case "leave":
			n.hub.LeaveGroup(c, arg)
		}
		c.Send("ok")
	}
	addr := wmtest.Serve(t, n.w)
	t.Cleanup(func() { wmtest.Do(n.ch.Close) })
	return n, addr
}

// user is one text connection.
type user struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func connect(t *testing.T, addr string, cmds ...string) *user {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	u := &user{t: t, c: c, r: bufio.NewReader(c)}
	for _, cmd := range cmds {
		u.do(cmd)
	}
	return u
}

func (u *user) do(cmd string) {
	u.t.Helper()
	u.c.Write([]byte(cmd + "\n"))
	if got := u.line(); got != "ok" {
		u.t.Fatalf("%s: got %q", cmd, got)
	}
}

func (u *user) line() string {
	u.t.Helper()
	u.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	s, err := u.r.ReadString('\n')
	if err != nil {
		u.t.Fatalf("read: %v", err)
	}
	return strings.TrimSuffix(s, "\n")
}

// silent checks that nothing arrives for a short while.
func (u *user) silent() {
	u.t.Helper()
	u.c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	if s, err := u.r.ReadString('\n'); err == nil {
		u.t.Fatalf("unexpected %q", s)
	}
	u.r.Reset(u.c)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

// eventually retries f until it returns "" or 5 s pass.
func eventually(t *testing.T, f func() string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		msg := f()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPushAcrossHubs(t *testing.T) {
	testPushAcrossHubs(t, wmtest.Serve(t, channel.NewServer("127.0.0.1:0").Worker))
}

// testPushAcrossHubs runs two nodes and a sender on the channel backend at
// chAddr: sends reach exactly the connections they name, a node that holds
// none of them receives nothing, and the counts follow binds and closes.
func testPushAcrossHubs(t *testing.T, chAddr string) {
	a, addrA := newNode(t, chAddr)
	_, addrB := newNode(t, chAddr)
	c1 := connect(t, addrA, "bind alice", "join g")
	c2 := connect(t, addrB, "bind bob", "join g")
	c3 := connect(t, addrB, "bind alice")

	// A program that only sends: no worker, a client of its own.
	sch, err := channel.Dial(ctx(t), chAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sch.Close()
	sender := push.New(sch, nil)

	// The bindings reach the server asynchronously.
	eventually(t, func() string {
		n, err := sender.GroupCountContext(ctx(t), "g")
		if err != nil || n != 2 {
			return "group g: want 2 members"
		}
		return ""
	})
	if on, err := sender.IsUidOnlineContext(ctx(t), "alice"); err != nil || !on {
		t.Fatalf("alice online: %v %v", on, err)
	}
	if on, err := sender.IsUidOnlineContext(ctx(t), "carol"); err != nil || on {
		t.Fatalf("carol online: %v %v", on, err)
	}

	before := a.ch.Stats().Received
	if err := sender.SendToUid("bob", "for bob"); err != nil {
		t.Fatal(err)
	}
	if got := c2.line(); got != "for bob" {
		t.Fatalf("bob got %q", got)
	}
	c1.silent()
	c3.silent()
	// Node a holds no connection of bob: the message never reached it.
	if got := a.ch.Stats().Received; got != before {
		t.Fatalf("node a received %d events for a uid it does not hold", got-before)
	}

	sender.SendToUid("alice", map[string]int{"n": 1})
	for _, u := range []*user{c1, c3} {
		if got := u.line(); got != `{"n":1}` {
			t.Fatalf("alice got %q", got)
		}
	}
	c2.silent()

	sender.SendToGroup("g", "to g")
	for _, u := range []*user{c1, c2} {
		if got := u.line(); got != "to g" {
			t.Fatalf("group got %q", got)
		}
	}
	c3.silent()

	sender.SendToAll("everyone")
	for _, u := range []*user{c1, c2, c3} {
		if got := u.line(); got != "everyone" {
			t.Fatalf("all got %q", got)
		}
	}

	// Leaving and closing update the counts, and stop delivery.
	c2.do("leave g")
	c1.c.Close()
	eventually(t, func() string {
		n, err := sender.GroupCountContext(ctx(t), "g")
		if err != nil || n != 0 {
			return "group g: want 0 members after leave and close"
		}
		return ""
	})
	sender.SendToGroup("g", "nobody")
	c2.silent()
	c3.do("unbind")
	eventually(t, func() string {
		if on, err := sender.IsUidOnlineContext(ctx(t), "alice"); err != nil || on {
			return "alice still online after unbind and close"
		}
		return ""
	})
}

// TestBindMoves checks that binding a connection again moves it from its old
// uid, and that a uid with several connections stays online until the last.
func TestBindMoves(t *testing.T) {
	chAddr := wmtest.Serve(t, channel.NewServer("127.0.0.1:0").Worker)
	_, addr := newNode(t, chAddr)
	sch, err := channel.Dial(ctx(t), chAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sch.Close()
	sender := push.New(sch, nil)
	u1 := connect(t, addr, "bind x")
	u2 := connect(t, addr, "bind x")
	u1.do("bind y")
	eventually(t, func() string {
		nx, _ := uidCount(t, sender, "x")
		ny, _ := uidCount(t, sender, "y")
		if nx != 1 || ny != 1 {
			return "want one connection each for x and y"
		}
		return ""
	})
	sender.SendToUid("x", "to x")
	if got := u2.line(); got != "to x" {
		t.Fatalf("u2 got %q", got)
	}
	u1.silent()
	u2.c.Close()
	eventually(t, func() string {
		if on, _ := sender.IsUidOnlineContext(ctx(t), "x"); on {
			return "x online after its last connection closed"
		}
		return ""
	})
}

func uidCount(t *testing.T, h *push.Hub, uid string) (int, error) {
	ch := make(chan int, 1)
	var e error
	h.UidCount(uid, func(n int, err error) { e = err; ch <- n })
	select {
	case n := <-ch:
		return n, e
	case <-time.After(5 * time.Second):
		t.Fatal("UidCount did not answer")
		return 0, nil
	}
}
