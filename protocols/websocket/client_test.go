package websocket_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	"github.com/workerman-go/workerman/protocols/websocket"
)

// connectClient runs setup on the loop to create, configure and connect an
// outbound connection, and destroys it when the test ends.
func connectClient(t *testing.T, url string, setup func(con *workerman.Connection), opts ...*workerman.DialOptions) *workerman.Connection {
	t.Helper()
	var con *workerman.Connection
	var err error
	var o *workerman.DialOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	wmtest.Do(func() {
		con, err = workerman.NewAsyncTcpConnection(url, o)
		if err != nil {
			return
		}
		setup(con)
		err = con.Connect()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		wmtest.Do(func() {
			con.OnClose = nil
			con.Destroy()
		})
	})
	return con
}

func recv[T any](t *testing.T, ch chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
	}
	var zero T
	return zero
}

// The manual's "ws协议" and "作为ws/wss客户端" example, against our own server.
func TestClientManualExample(t *testing.T) {
	server := workerman.NewWorker("websocket://127.0.0.1:0")
	paths := make(chan string, 1)
	server.Protocol = &websocket.Server{OnWebSocketConnect: func(c *workerman.Connection, r *http.Request) {
		paths <- r.URL.RequestURI() + " " + r.Host
	}}
	server.OnMessage = func(c *workerman.Connection, data any) { c.Send("recv " + data.(string)) }
	addr := serve(t, server)

	got := make(chan string, 4)
	connectClient(t, "ws://"+addr+"/echo?room=1", func(ws_connection *workerman.Connection) {
		ws_connection.OnConnect = func(connection *workerman.Connection) {
			connection.Send("hello")
		}
		ws_connection.OnMessage = func(connection *workerman.Connection, data any) {
			got <- "recv: " + data.(string)
		}
		ws_connection.OnError = func(connection *workerman.Connection, code int, msg string) {
			got <- "error: " + msg
		}
		ws_connection.OnClose = func(connection *workerman.Connection) {
			got <- "connection closed"
		}
	})
	if p := recv(t, paths); p != "/echo?room=1 "+addr {
		t.Fatalf("server saw %q", p)
	}
	if m := recv(t, got); m != "recv: recv hello" {
		t.Fatalf("got %q", m)
	}
}

func TestClientHandshakeFailure(t *testing.T) {
	answers := map[string]string{
		"refused":    "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
		"bad-accept": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n",
		"no-upgrade": "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		"ext":        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
		"subproto":   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: other\r\n\r\n",
		"garbage":    "SSH-2.0-OpenSSH\r\n\r\n",
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				conn.Write([]byte(strings.Replace(answer, "%s", websocket.AcceptKey(req.Header.Get("Sec-WebSocket-Key")), 1)))
				time.Sleep(2 * time.Second)
			}()
			events := make(chan string, 4)
			connectClient(t, "ws://"+ln.Addr().String()+"/", func(con *workerman.Connection) {
				con.OnError = func(c *workerman.Connection, code int, msg string) {
					if code != workerman.ConnectFail {
						t.Errorf("code %d", code)
					}
					events <- "error " + msg
				}
				con.OnClose = func(*workerman.Connection) { events <- "close" }
				con.OnMessage = func(*workerman.Connection, any) { events <- "message" }
			})
			if e := recv(t, events); !strings.HasPrefix(e, "error websocket handshake with") {
				t.Fatalf("got %q", e)
			}
			if e := recv(t, events); e != "close" {
				t.Fatalf("got %q", e)
			}
		})
	}
}

// Reconnect from OnClose: the new connection does a new handshake.
func TestClientReconnect(t *testing.T) {
	server := workerman.NewWorker("websocket://127.0.0.1:0")
	n := 0
	server.OnMessage = func(c *workerman.Connection, data any) {
		n++
		c.Send(data)
		if n == 1 {
			c.Close(websocket.CloseFrame{Code: websocket.CloseGoingAway, Reason: "restart"})
		}
	}
	addr := serve(t, server)
	got := make(chan string, 8)
	closes := 0
	connectClient(t, "ws://"+addr+"/", func(con *workerman.Connection) {
		con.Protocol = &websocket.Client{OnWebSocketClose: func(c *workerman.Connection, code int, reason string) {
			got <- "close frame " + reason
		}}
		con.OnConnect = func(c *workerman.Connection) { c.Send("ping") }
		con.OnMessage = func(c *workerman.Connection, data any) { got <- data.(string) }
		con.OnClose = func(c *workerman.Connection) {
			closes++
			if closes == 1 {
				c.Reconnect(10 * time.Millisecond)
			}
		}
	})
	for _, want := range []string{"ping", "close frame restart", "ping"} {
		if m := recv(t, got); m != want {
			t.Fatalf("got %q, want %q", m, want)
		}
	}
}

func TestClientOptions(t *testing.T) {
	server := workerman.NewWorker("websocket://127.0.0.1:0")
	headers := make(chan http.Header, 1)
	server.Protocol = &websocket.Server{
		Compression:  true,
		Subprotocols: []string{"v1", "v2"},
		OnWebSocketConnect: func(c *workerman.Connection, r *http.Request) {
			headers <- r.Header
		},
	}
	server.OnMessage = func(c *workerman.Connection, data any) {
		c.Send(websocket.Binary(strings.Repeat(data.(string), 50) + "|" + websocket.Subprotocol(c) + "|" + map[bool]string{true: "z"}[websocket.Compressed(c)]))
	}
	addr := serve(t, server)
	got := make(chan string, 4)
	pongs := make(chan bool, 4)
	connectClient(t, "ws://"+addr+"/", func(con *workerman.Connection) {
		con.Protocol = &websocket.Client{
			Compression:  true,
			Subprotocols: []string{"v2"},
			Header:       http.Header{"Origin": {"http://example.com"}, "Authorization": {"Bearer x"}},
			PingInterval: 50 * time.Millisecond,
			OnPong:       func(*workerman.Connection, []byte) { pongs <- true },
			OnWebSocketConnect: func(c *workerman.Connection, resp *http.Response) {
				got <- "open " + resp.Header.Get("Sec-WebSocket-Protocol") + " " + websocket.Subprotocol(c)
				c.Send("ab")
			},
		}
		con.OnMessage = func(c *workerman.Connection, data any) {
			got <- websocket.MessageType(c).String() + " " + string(data.([]byte)) + " " + map[bool]string{true: "z"}[websocket.Compressed(c)]
		}
	})
	h := recv(t, headers)
	if h.Get("Origin") != "http://example.com" || h.Get("Authorization") != "Bearer x" || !strings.Contains(h.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		t.Fatalf("request headers %v", h)
	}
	if m := recv(t, got); m != "open v2 v2" {
		t.Fatalf("got %q", m)
	}
	if m := recv(t, got); m != "binary "+strings.Repeat("ab", 50)+"|v2|z z" {
		t.Fatalf("got %q", m)
	}
	// The client pings a silent server; our server answers.
	recv(t, pongs)
}

// A ws:// client and websocket:// server must not be mixed up.
func TestServerProtocolRefusesOutbound(t *testing.T) {
	errs := make(chan string, 2)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	connectClient(t, "websocket://"+ln.Addr().String(), func(con *workerman.Connection) {
		con.OnError = func(c *workerman.Connection, code int, msg string) { errs <- msg }
	})
	if m := recv(t, errs); !strings.Contains(m, "connect with ws://") {
		t.Fatalf("got %q", m)
	}
}
