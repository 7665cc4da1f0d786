package websocket_test

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/protocols/websocket"
)

// The Sec-WebSocket-Accept answer to the sample key of RFC 6455.
func ExampleAcceptKey() {
	fmt.Println(websocket.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="))
	// Output: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
}

// The manual's 实例二: a WebSocket service on port 2000 that answers
// "hello $data". In a browser: ws = new WebSocket("ws://127.0.0.1:2000").
func Example() {
	ws_worker := workerman.NewWorker("websocket://0.0.0.0:2000")
	ws_worker.Count = 4
	ws_worker.OnMessage = func(connection *workerman.Connection, data any) {
		connection.Send("hello " + data.(string))
	}
	workerman.RunAll()
}

// The manual's "WebSocket协议握手": inspect the handshake and refuse pages
// from other sites. r.URL.Query() is the manual's $_GET, r.Header its
// $_SERVER['HTTP_*'].
func ExampleServer_onWebSocketConnect() {
	ws := workerman.NewWorker("websocket://0.0.0.0:8181")
	ws.Protocol = &websocket.Server{
		OnWebSocketConnect: func(connection *workerman.Connection, r *http.Request) {
			if r.Header.Get("Origin") != "http://chat.workerman.net" {
				connection.Close()
			}
		},
	}
	workerman.RunAll()
}

// The manual's "透过nginx wss代理如何获取客户端真实ip": nginx passes the
// client's address in X-Real-IP; keep it when the handshake arrives.
func ExampleSetOnWebSocketConnect() {
	worker := workerman.NewWorker("websocket://0.0.0.0:7272")
	worker.OnConnect = func(connection *workerman.Connection) {
		websocket.SetOnWebSocketConnect(connection, func(connection *workerman.Connection, r *http.Request) {
			connection.UserData = r.Header.Get("X-Real-IP") // the manual's $connection->realIP
		})
	}
	worker.OnMessage = func(connection *workerman.Connection, data any) {
		connection.Send(connection.UserData.(string))
	}
	workerman.RunAll()
}

// The manual's "WebSocket协议传输二进制数据": send binary frames on a
// connection ($connection->websocketType = BINARY_TYPE_ARRAYBUFFER), or
// choose the frame type of a single send.
func ExampleSetType() {
	worker := workerman.NewWorker("websocket://0.0.0.0:8484")
	worker.OnConnect = func(connection *workerman.Connection) {
		websocket.SetType(connection, websocket.BinaryTypeArrayBuffer)
	}
	worker.OnMessage = func(connection *workerman.Connection, data any) {
		connection.Send([]byte{0x89, 'P', 'N', 'G'})    // binary frame
		connection.Send(websocket.Text("a text frame")) // text, whatever the type
		if websocket.MessageType(connection) == websocket.OpText {
			fmt.Println("received text:", data.(string))
		}
	}
	workerman.RunAll()
}

// The manual's "如何主动推送消息": push to every client from a timer.
func Example_timerPush() {
	worker := workerman.NewWorker("websocket://0.0.0.0:1234")
	worker.OnWorkerStart = func(worker *workerman.Worker) {
		workerman.Timer.Add(time.Second, func() {
			for _, connection := range worker.Connections {
				connection.Send("hello")
			}
		})
	}
	workerman.RunAll()
}

// The manual's "向指定客户端发送数据": the first message of a client is its
// uid; "uid:message" sends to one client, "all:message" to everyone.
func Example_sendToUID() {
	worker := workerman.NewWorker("websocket://0.0.0.0:1234")
	worker.Count = 1 // the map below lives in one process
	uidConnections := map[string]*workerman.Connection{}
	worker.OnMessage = func(connection *workerman.Connection, data any) {
		if connection.UserData == nil {
			connection.UserData = data.(string)
			uidConnections[data.(string)] = connection
			connection.Send("login success, your uid is " + data.(string))
			return
		}
		recvUID, message, _ := strings.Cut(data.(string), ":")
		if recvUID == "all" {
			for _, c := range uidConnections {
				c.Send(message)
			}
		} else if c, ok := uidConnections[recvUID]; ok {
			c.Send(message)
		}
	}
	worker.OnClose = func(connection *workerman.Connection) {
		if uid, ok := connection.UserData.(string); ok {
			delete(uidConnections, uid)
		}
	}
	workerman.RunAll()
}

// The heartbeat without a timer of your own: ping clients silent for 25
// seconds and close those silent for 60.
func ExampleServer_heartbeat() {
	worker := workerman.NewWorker("websocket://0.0.0.0:8484")
	worker.Protocol = &websocket.Server{PingInterval: 25 * time.Second, IdleTimeout: 60 * time.Second}
	workerman.RunAll()
}

// The manual's "ws协议": Workerman as a WebSocket client.
func ExampleClient() {
	worker := workerman.NewWorker("")
	worker.OnWorkerStart = func(*workerman.Worker) {
		ws_connection, err := workerman.NewAsyncTcpConnection("ws://echo.websocket.org:80", nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		ws_connection.OnConnect = func(connection *workerman.Connection) {
			connection.Send("hello")
		}
		ws_connection.OnMessage = func(connection *workerman.Connection, data any) {
			fmt.Println("recv:", data)
		}
		ws_connection.OnError = func(connection *workerman.Connection, code int, msg string) {
			fmt.Println("error:", msg)
		}
		ws_connection.OnClose = func(connection *workerman.Connection) {
			fmt.Println("connection closed")
		}
		ws_connection.Connect()
	}
	workerman.RunAll()
}

// A client with its own settings: compression, a subprotocol, extra
// headers and a ping every 55 seconds (Workerman's websocketPingInterval).
// For wss://, dial "wss://host/path" (or ws:// with &workerman.DialOptions{Transport: "ssl"}).
func ExampleClient_options() {
	worker := workerman.NewWorker("")
	worker.OnWorkerStart = func(*workerman.Worker) {
		con, _ := workerman.NewAsyncTcpConnection("ws://127.0.0.1:8080/chat", nil)
		con.Protocol = &websocket.Client{
			Compression:  true,
			Subprotocols: []string{"chat.v1"},
			Header:       http.Header{"Origin": {"http://example.com"}},
			PingInterval: 55 * time.Second,
			OnWebSocketConnect: func(c *workerman.Connection, resp *http.Response) {
				fmt.Println("open, subprotocol", websocket.Subprotocol(c))
			},
		}
		con.OnClose = func(c *workerman.Connection) { c.Reconnect(time.Second) }
		con.Connect()
	}
	workerman.RunAll()
}

// A chat service whose messages are small and alike: with context takeover
// each compressed message may refer back to the ones before it, which
// takes several times fewer bytes on the wire than compressing each
// message on its own, at the cost of a compressor per connection (see
// Server.ContextTakeover). Browsers offer it by default.
func ExampleServer_contextTakeover() {
	chat := workerman.NewWorker("websocket://0.0.0.0:2020")
	chat.Protocol = &websocket.Server{Compression: true, ContextTakeover: true}
	chat.OnMessage = func(connection *workerman.Connection, data any) {
		for _, c := range chat.Connections {
			c.Send(data)
		}
	}
	workerman.RunAll()
}
