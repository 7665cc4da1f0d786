package main

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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

func (c *client) do(t *testing.T, line string) string {
	t.Helper()
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		t.Fatal(err)
	}
	return c.read(t)
}

func (c *client) read(t *testing.T) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	s, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return strings.TrimSuffix(s, "\n")
}

func TestRedis(t *testing.T) {
	r := testserver.StartRedis(t)
	addr := wmtest.Serve(t, newServer("127.0.0.1:0", r.Addr))
	a, b := dial(t, addr), dial(t, addr)

	if got := a.do(t, "get greeting"); got != "(nil)" {
		t.Fatalf("get before set: %q", got)
	}
	if got := a.do(t, "set greeting hello world"); got != "OK" {
		t.Fatalf("set: %q", got)
	}
	if got := b.do(t, "get greeting"); got != "hello world" {
		t.Fatalf("get: %q", got)
	}
	// The value is in Redis, not in the worker.
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	ctx := context.Background()
	if v, err := rdb.Get(ctx, "greeting").Result(); v != "hello world" || err != nil {
		t.Fatalf("in Redis: %q %v", v, err)
	}

	// The worker subscribed in OnWorkerStart; wait until Redis counts it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := rdb.PubSubNumSub(ctx, newsChannel).Result()
		if err == nil && n[newsChannel] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no subscriber on %s: %v %v", newsChannel, n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A message published by another program reaches every client.
	if err := rdb.Publish(ctx, newsChannel, "from outside").Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{a, b} {
		if got := c.read(t); got != "news: from outside" {
			t.Fatalf("got %q", got)
		}
	}
	// And one published through the worker.
	if _, err := a.Write([]byte("publish from a\n")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{a, b} {
		if got := c.read(t); got != "news: from a" {
			t.Fatalf("got %q", got)
		}
	}
	// Many commands in flight from one client come back in order of
	// completion, each one answered.
	for i := 0; i < 50; i++ {
		a.Write([]byte("get greeting\n"))
	}
	for i := 0; i < 50; i++ {
		if got := a.read(t); got != "hello world" {
			t.Fatalf("reply %d: %q", i, got)
		}
	}
}
