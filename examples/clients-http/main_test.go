package main

import (
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// wsDial connects to the worker with the framework's ws:// client and
// returns the connection and a channel of the messages it receives.
func wsDial(t *testing.T, addr string) (*workerman.Connection, chan string) {
	t.Helper()
	msgs := make(chan string, 100)
	up := make(chan struct{})
	var ws *workerman.Connection
	wmtest.Do(func() {
		var err error
		ws, err = workerman.NewAsyncTcpConnection("ws://"+addr+"/", nil)
		if err != nil {
			t.Error(err)
			return
		}
		ws.OnMessage = func(_ *workerman.Connection, data any) { msgs <- data.(string) }
		ws.OnConnect = func(*workerman.Connection) { close(up) }
		ws.Connect()
	})
	select {
	case <-up:
	case <-time.After(10 * time.Second):
		t.Fatal("WebSocket did not connect")
	}
	return ws, msgs
}

func recv(t *testing.T, msgs chan string) string {
	t.Helper()
	select {
	case m := <-msgs:
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no reply")
		return ""
	}
}

func TestHTTPClient(t *testing.T) {
	var conns atomic.Int64
	canceled := make(chan struct{}, 1)
	slowStarted := make(chan struct{}, 1)
	api := httptest.NewUnstartedServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		switch r.URL.Path {
		case "/hello":
			w.Write([]byte("hi " + r.URL.Query().Get("n")))
		case "/slow":
			slowStarted <- struct{}{}
			select {
			case <-r.Context().Done():
				canceled <- struct{}{}
			case <-time.After(30 * time.Second):
			}
		default:
			nethttp.NotFound(w, r)
		}
	}))
	api.Config.ConnState = func(_ net.Conn, s nethttp.ConnState) {
		if s == nethttp.StateNew {
			conns.Add(1)
		}
	}
	api.Start()
	defer api.Close()

	addr := wmtest.Serve(t, newServer("127.0.0.1:0"))
	ws, msgs := wsDial(t, addr)

	// One at a time: every request reuses the first connection.
	for i := 0; i < 20; i++ {
		wmtest.Do(func() { ws.Send(api.URL + "/hello?n=x") })
		if got := recv(t, msgs); got != "200 4\nhi x" {
			t.Fatalf("reply %q", got)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 20 sequential requests, want 1 reused", n)
	}
	// Sixty at once: never more connections than the pool's workers.
	wmtest.Do(func() {
		for i := 0; i < 60; i++ {
			ws.Send(api.URL + "/hello?n=y")
		}
	})
	for i := 0; i < 60; i++ {
		if got := recv(t, msgs); got != "200 4\nhi y" {
			t.Fatalf("reply %d: %q", i, got)
		}
	}
	if n := conns.Load(); n > 8 {
		t.Fatalf("%d connections, want at most 8", n)
	}
	t.Logf("%d connections for 80 requests", conns.Load())

	wmtest.Do(func() { ws.Send(api.URL + "/nope") })
	if got := recv(t, msgs); got != "404 19\n404 page not found\n" {
		t.Fatalf("404: %q", got)
	}
	wmtest.Do(func() { ws.Send("http://127.0.0.1:1/") })
	if got := recv(t, msgs); got[:7] != "error: " {
		t.Fatalf("unreachable: %q", got)
	}

	// A request whose WebSocket closes is canceled: the API server sees
	// its request context end.
	wmtest.Do(func() { ws.Send(api.URL + "/slow") })
	select {
	case <-slowStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("slow request did not arrive")
	}
	wmtest.Do(func() { ws.Close() })
	select {
	case <-canceled:
	case <-time.After(10 * time.Second):
		t.Fatal("the request went on after its WebSocket closed")
	}
}
