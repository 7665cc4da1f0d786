package main

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/workerman-go/workerman/internal/testserver"
	"github.com/workerman-go/workerman/internal/wmtest"
)

type client struct {
	net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{c, bufio.NewReader(c)}
}

func (c *client) line(t *testing.T, d time.Duration) (string, bool) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	s, err := c.r.ReadString('\n')
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return "", false
		}
		t.Fatalf("read: %v", err)
	}
	return strings.TrimSuffix(s, "\n"), true
}

func TestMQTT(t *testing.T) {
	broker := testserver.StartMosquitto(t)
	addr := wmtest.Serve(t, newServer("127.0.0.1:0", broker.URL))
	a, b := dial(t, addr), dial(t, addr)

	// Another program on the broker: publishes and listens.
	other := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL).SetClientID("test-peer"))
	if tok := other.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer other.Disconnect(100)
	got := make(chan string, 10)
	if tok := other.Subscribe("chat/room2", 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	// Consuming: the worker subscribes in the background after it starts;
	// publish until its clients hear it.
	deadline := time.Now().Add(15 * time.Second)
	for {
		other.Publish("chat/room1", 1, false, "hello").Wait()
		if l, ok := a.line(t, 200*time.Millisecond); ok {
			if l != "chat/room1 hello" {
				t.Fatalf("a got %q", l)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker never delivered a consumed message")
		}
	}
	// b got it too (perhaps more than once, from the retries above).
	if l, ok := b.line(t, 10*time.Second); !ok || l != "chat/room1 hello" {
		t.Fatalf("b got %q", l)
	}
	for _, c := range []*client{a, b} {
		for {
			if _, ok := c.line(t, 300*time.Millisecond); !ok {
				break
			}
		}
	}

	// Producing: a client's pub reaches the other program, is confirmed,
	// and comes back to every client through the worker's subscription.
	a.Write([]byte("pub chat/room2 from a worker\n"))
	select {
	case m := <-got:
		if m != "from a worker" {
			t.Fatalf("peer got %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("peer got nothing")
	}
	seen := map[string]bool{}
	for i := 0; i < 2; i++ {
		l, ok := a.line(t, 10*time.Second)
		if !ok {
			t.Fatal("a: no reply")
		}
		seen[l] = true
	}
	if !seen["ok"] || !seen["chat/room2 from a worker"] {
		t.Fatalf("a got %v", seen)
	}
	if l, ok := b.line(t, 10*time.Second); !ok || l != "chat/room2 from a worker" {
		t.Fatalf("b got %q", l)
	}
	a.Write([]byte("pub chat/# nope\n"))
	if l, _ := a.line(t, 10*time.Second); l != "error: pub TOPIC MESSAGE" {
		t.Fatalf("wildcard publish: %q", l)
	}
}
