package websocket_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	"github.com/workerman-go/workerman/protocols/websocket"
)

const testKey = "dGhlIHNhbXBsZSBub25jZQ=="

// dialRaw connects a raw client and sends a handshake request with the
// given path and extra header lines; it returns the peer and the answer.
func dialRaw(t *testing.T, addr, path string, extra ...string) (*peer, *http.Response) {
	t.Helper()
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n"
	for _, h := range extra {
		req += h + "\r\n"
	}
	return rawRequest(t, addr, req+"\r\n")
}

func rawRequest(t *testing.T, addr, req string) (*peer, *http.Response) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	p := &peer{t: t, conn: conn, br: bufio.NewReader(conn), client: true}
	p.write([]byte(req))
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		return p, nil
	}
	return p, resp
}

func serve(t *testing.T, w *workerman.Worker) string { t.Helper(); return wmtest.Serve(t, w) }

func TestHandshake(t *testing.T) {
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send("hello " + data.(string)) }
	addr := serve(t, w)
	p, resp := dialRaw(t, addr, "/")
	if resp == nil || resp.StatusCode != 101 {
		t.Fatalf("answer %v", resp)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("accept %q", got)
	}
	if resp.Header.Get("Sec-WebSocket-Extensions") != "" {
		t.Fatalf("extension without Compression: %v", resp.Header)
	}
	p.text("tom")
	p.expect(websocket.OpText, []byte("hello tom"))
}

func TestHandshakeRejected(t *testing.T) {
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.Protocol = &websocket.Server{MaxHeaderBytes: 4096}
	addr := serve(t, w)
	base := "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	cases := []struct {
		name, req string
		status    int
	}{
		{"plain-http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"post", "POST / HTTP/1.1\r\n" + base + "Sec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n", 400},
		{"http10", "GET / HTTP/1.0\r\n" + base + "Sec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n", 400},
		{"no-key", "GET / HTTP/1.1\r\n" + base + "Sec-WebSocket-Version: 13\r\n\r\n", 400},
		{"short-key", "GET / HTTP/1.1\r\n" + base + "Sec-WebSocket-Key: AAAA\r\nSec-WebSocket-Version: 13\r\n\r\n", 400},
		{"no-connection", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n", 400},
		{"version-8", "GET / HTTP/1.1\r\n" + base + "Sec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 8\r\n\r\n", 426},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400},
		{"too-large", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 5000) + "\r\n\r\n", 431},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, resp := rawRequest(t, addr, tc.req)
			if resp == nil {
				t.Fatal("no HTTP answer")
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			body, _ := io.ReadAll(resp.Body)
			if len(body) == 0 {
				t.Fatal("no explanation in the body")
			}
			if tc.status == 426 && resp.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Fatalf("426 without the supported version: %v", resp.Header)
			}
			p.expectEOF()
		})
	}
}

// The manual's "WebSocket协议握手": refuse connections from foreign pages
// by closing them in onWebSocketConnect.
func TestOnWebSocketConnectOrigin(t *testing.T) {
	ws := workerman.NewWorker("websocket://127.0.0.1:0")
	ws.Protocol = &websocket.Server{
		OnWebSocketConnect: func(connection *workerman.Connection, r *http.Request) {
			if r.Header.Get("Origin") != "http://chat.workerman.net" {
				connection.Close()
			}
		},
	}
	ws.OnMessage = func(c *workerman.Connection, data any) { c.Send(data) }
	addr := serve(t, ws)
	p, resp := dialRaw(t, addr, "/", "Origin: http://chat.workerman.net")
	if resp == nil || resp.StatusCode != 101 {
		t.Fatalf("allowed origin refused: %v", resp)
	}
	p.text("hi")
	p.expect(websocket.OpText, []byte("hi"))
	p, resp = dialRaw(t, addr, "/", "Origin: http://evil.example")
	if resp != nil {
		t.Fatalf("foreign origin got an answer: %v", resp.Status)
	}
	p.expectEOF()
}

func TestRefuseAndResponseHeader(t *testing.T) {
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.Protocol = &websocket.Server{
		Subprotocols: []string{"chat.v2", "chat.v1"},
		OnWebSocketConnect: func(c *workerman.Connection, r *http.Request) {
			if r.URL.Query().Get("token") != "secret" {
				websocket.Refuse(c, http.StatusUnauthorized, "token required\n")
				return
			}
			websocket.ResponseHeader(c).Set("Set-Cookie", "sid=1")
		},
	}
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(websocket.Subprotocol(c)) }
	addr := serve(t, w)
	_, resp := dialRaw(t, addr, "/?token=wrong")
	if resp == nil || resp.StatusCode != 401 {
		t.Fatalf("answer %v", resp)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "token required\n" {
		t.Fatalf("body %q", b)
	}
	p, resp := dialRaw(t, addr, "/?token=secret", "Sec-WebSocket-Protocol: chat.v1, chat.v2")
	if resp == nil || resp.StatusCode != 101 || resp.Header.Get("Set-Cookie") != "sid=1" || resp.Header.Get("Sec-WebSocket-Protocol") != "chat.v2" {
		t.Fatalf("answer %v", resp)
	}
	p.text("which")
	p.expect(websocket.OpText, []byte("chat.v2"))
}

// The manual's "透过nginx wss代理如何获取客户端真实ip": a per-connection hook
// set in onConnect keeps X-Real-IP for later messages.
func TestRealIPBehindProxy(t *testing.T) {
	worker := workerman.NewWorker("websocket://127.0.0.1:0")
	worker.OnConnect = func(connection *workerman.Connection) {
		websocket.SetOnWebSocketConnect(connection, func(connection *workerman.Connection, r *http.Request) {
			connection.UserData = r.Header.Get("X-Real-IP")
		})
	}
	worker.OnMessage = func(connection *workerman.Connection, data any) {
		connection.Send(connection.UserData.(string))
	}
	addr := serve(t, worker)
	p, resp := dialRaw(t, addr, "/", "X-Real-IP: 203.0.113.7")
	if resp == nil || resp.StatusCode != 101 {
		t.Fatalf("answer %v", resp)
	}
	p.text("who am i")
	p.expect(websocket.OpText, []byte("203.0.113.7"))
}

func TestRequestSeenByHook(t *testing.T) {
	got := make(chan *http.Request, 1)
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.Protocol = &websocket.Server{OnWebSocketConnect: func(c *workerman.Connection, r *http.Request) { got <- r }}
	addr := serve(t, w)
	p, _ := dialRaw(t, addr, "/room/7?user=tom&x=1", "Origin: http://a.example", "Cookie: sid=42")
	r := <-got
	if r.URL.Path != "/room/7" || r.URL.Query().Get("user") != "tom" || r.Header.Get("Origin") != "http://a.example" ||
		r.Header.Get("Cookie") != "sid=42" || r.Host != addr || r.Method != "GET" {
		t.Fatalf("request %v %v %v", r.URL, r.Host, r.Header)
	}
	if r.RemoteAddr != p.conn.LocalAddr().String() {
		t.Fatalf("RemoteAddr %q, want %q", r.RemoteAddr, p.conn.LocalAddr())
	}
	if c, _ := r.Cookie("sid"); c == nil || c.Value != "42" {
		t.Fatalf("cookie %v", c)
	}
}

// websocketType: BINARY_TYPE_ARRAYBUFFER per connection, overrides per
// send, and the opcode of received messages.
func TestTypes(t *testing.T) {
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.OnConnect = func(c *workerman.Connection) { c.Send("sent before the handshake") }
	w.OnMessage = func(c *workerman.Connection, data any) {
		switch v := data.(type) {
		case string:
			c.Send("text:" + websocket.MessageType(c).String() + ":" + v)
		case []byte:
			websocket.SetType(c, websocket.BinaryTypeArrayBuffer)
			c.Send("now binary")
			c.Send(websocket.Text("explicit text"))
			c.Send(append([]byte("binary:"+websocket.MessageType(c).String()+":"), v...))
			websocket.SetType(c, websocket.BinaryTypeBlob)
			c.Send(websocket.Binary("explicit binary"))
			if websocket.Type(c) != websocket.OpText || c.Send(websocket.Text("\xff")) != workerman.SendFailed {
				c.Send("invalid UTF-8 text was sent")
			}
		}
	}
	addr := serve(t, w)
	p, _ := dialRaw(t, addr, "/")
	p.expect(websocket.OpText, []byte("sent before the handshake"))
	p.text("a")
	p.expect(websocket.OpText, []byte("text:text:a"))
	p.binary([]byte{0, 1})
	p.expect(websocket.OpBinary, []byte("now binary"))
	p.expect(websocket.OpText, []byte("explicit text"))
	p.expect(websocket.OpBinary, []byte("binary:binary:\x00\x01"))
	p.expect(websocket.OpBinary, []byte("explicit binary"))
	p.expectNothing(100 * time.Millisecond)
}

func TestFragmentingOutput(t *testing.T) {
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.Protocol = &websocket.Server{MaxFrameSize: 4}
	w.OnMessage = func(c *workerman.Connection, data any) {
		c.Send(data)
		// The application can fragment by hand and interleave a ping.
		c.Send(websocket.Frame{Opcode: websocket.OpBinary, Payload: []byte("ab")})
		c.Send(websocket.Ping("p"))
		c.Send(websocket.Frame{Opcode: websocket.OpContinuation, Fin: true, Payload: []byte("cd")})
	}
	addr := serve(t, w)
	p, _ := dialRaw(t, addr, "/")
	p.text("0123456789")
	for i, want := range []string{"0123", "4567", "89"} {
		f := p.mustRead()
		wantOp := websocket.OpContinuation
		if i == 0 {
			wantOp = websocket.OpText
		}
		if f.op != wantOp || string(f.payload) != want || f.fin != (i == 2) {
			t.Fatalf("fragment %d: %v", i, f)
		}
	}
	if f := p.mustRead(); f.op != websocket.OpBinary || f.fin || string(f.payload) != "ab" {
		t.Fatalf("first fragment %v", f)
	}
	p.expect(websocket.OpPing, []byte("p"))
	if f := p.mustRead(); f.op != websocket.OpContinuation || !f.fin || string(f.payload) != "cd" {
		t.Fatalf("last fragment %v", f)
	}
}

func TestHeartbeat(t *testing.T) {
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	closed := make(chan int, 4)
	w.Protocol = &websocket.Server{PingInterval: 200 * time.Millisecond, IdleTimeout: time.Second}
	w.OnClose = func(c *workerman.Connection) { closed <- c.ID }
	addr := serve(t, w)

	// A silent client is pinged, then closed with 1001.
	silent, _ := dialRaw(t, addr, "/")
	silent.expect(websocket.OpPing, nil)
	silent.expectClose(websocket.CloseGoingAway)
	<-closed

	// A client that answers pings stays connected well past IdleTimeout.
	alive, _ := dialRaw(t, addr, "/")
	start := time.Now()
	for time.Since(start) < 2500*time.Millisecond {
		f := alive.mustRead()
		if f.op != websocket.OpPing {
			t.Fatalf("got %v after %v", f, time.Since(start))
		}
		alive.send(true, 0, websocket.OpPong, f.payload)
	}
	alive.send(true, 0, websocket.OpClose, nil)
	alive.expect(websocket.OpClose, nil)
	<-closed
}

func TestHandshakeTimeout(t *testing.T) {
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.Protocol = &websocket.Server{HandshakeTimeout: 200 * time.Millisecond}
	addr := serve(t, w)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET / HTTP/1.1\r\n")) // never finished
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read: %v", err)
	}
	if time.Since(start) < 100*time.Millisecond {
		t.Fatal("closed before the timeout")
	}
}

func TestCompressionNegotiation(t *testing.T) {
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.Protocol = &websocket.Server{Compression: true, CompressionThreshold: 1}
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(strings.Repeat(data.(string), 100)) }
	addr := serve(t, w)
	cases := []struct{ offer, want string }{
		{"permessage-deflate", "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"permessage-deflate; client_max_window_bits", "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10"},
		{"x-unknown, permessage-deflate; foo=1, permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"permessage-deflate; server_max_window_bits=16", ""},
		{"permessage-deflate; server_no_context_takeover; server_no_context_takeover", ""},
		{"permessage-deflate; client_max_window_bits=7", ""},
	}
	for _, tc := range cases {
		p, resp := dialRaw(t, addr, "/", "Sec-WebSocket-Extensions: "+tc.offer)
		if got := resp.Header.Get("Sec-WebSocket-Extensions"); got != tc.want {
			t.Fatalf("offer %q: answer %q, want %q", tc.offer, got, tc.want)
		}
		p.text("abc")
		f := p.mustRead()
		got := f.payload
		if tc.want != "" {
			if f.rsv != 0x40 {
				t.Fatalf("offer %q: reply not compressed", tc.offer)
			}
			got = inflate(t, got)
		} else if f.rsv != 0 {
			t.Fatalf("offer %q: compressed without negotiation", tc.offer)
		}
		if string(got) != strings.Repeat("abc", 100) {
			t.Fatalf("offer %q: got %q", tc.offer, got)
		}
	}
}

// The manual's 实例二: a WebSocket service that answers "hello $data".
func TestManualExample2(t *testing.T) {
	ws_worker := workerman.NewWorker("websocket://127.0.0.1:0")
	ws_worker.Count = 4
	ws_worker.OnMessage = func(connection *workerman.Connection, data any) {
		connection.Send("hello " + data.(string))
	}
	addr := serve(t, ws_worker)
	p, _ := dialRaw(t, addr, "/")
	p.text("tom")
	p.expect(websocket.OpText, []byte("hello tom"))
}

// The manual's "如何主动推送消息": a timer pushes to every connection.
func TestManualTimerPush(t *testing.T) {
	worker := workerman.NewWorker("websocket://127.0.0.1:0")
	var timer int
	worker.OnWorkerStart = func(worker *workerman.Worker) {
		timer = workerman.Timer.Add(50*time.Millisecond, func() {
			for _, connection := range worker.Connections {
				connection.Send("hello")
			}
		})
	}
	addr := serve(t, worker)
	t.Cleanup(func() { wmtest.Do(func() { workerman.Timer.Del(timer) }) })
	a, _ := dialRaw(t, addr, "/")
	b, _ := dialRaw(t, addr, "/")
	for range 2 {
		a.expect(websocket.OpText, []byte("hello"))
		b.expect(websocket.OpText, []byte("hello"))
	}
}

// The manual's "向指定客户端发送数据" and the push example with an inner
// text worker: the first message is the uid; "uid:message" sends to one
// uid, "all:message" to everyone; a text port lets other systems push.
func TestManualSendToUID(t *testing.T) {
	worker := workerman.NewWorker("websocket://127.0.0.1:0")
	worker.Count = 1
	uidConnections := map[string]*workerman.Connection{}
	broadcast := func(message string) {
		for _, connection := range uidConnections {
			connection.Send(message)
		}
	}
	sendMessageByUid := func(uid, message string) bool {
		if connection, ok := uidConnections[uid]; ok {
			connection.Send(message)
			return true
		}
		return false
	}
	var inner *workerman.Worker
	var innerAddr string
	worker.OnWorkerStart = func(worker *workerman.Worker) {
		inner = workerman.NewWorker("text://127.0.0.1:0")
		inner.OnMessage = func(connection *workerman.Connection, buffer any) {
			var data struct {
				UID string `json:"uid"`
			}
			json.Unmarshal([]byte(buffer.(string)), &data)
			if sendMessageByUid(data.UID, buffer.(string)) {
				connection.Send("ok")
			} else {
				connection.Send("fail")
			}
		}
		if err := inner.Listen(); err != nil {
			t.Error(err)
			return
		}
		innerAddr = inner.Addr().String()
	}
	worker.OnMessage = func(connection *workerman.Connection, data any) {
		if connection.UserData == nil {
			connection.UserData = data.(string)
			uidConnections[data.(string)] = connection
			connection.Send("login success, your uid is " + data.(string))
			return
		}
		recvUID, message, _ := strings.Cut(data.(string), ":")
		if recvUID == "all" {
			broadcast(message)
		} else {
			sendMessageByUid(recvUID, message)
		}
	}
	worker.OnClose = func(connection *workerman.Connection) {
		if uid, ok := connection.UserData.(string); ok {
			delete(uidConnections, uid)
		}
	}
	addr := serve(t, worker)
	t.Cleanup(func() { wmtest.Do(inner.Stop) })
	tom, _ := dialRaw(t, addr, "/")
	tom.text("tom")
	tom.expect(websocket.OpText, []byte("login success, your uid is tom"))
	ann, _ := dialRaw(t, addr, "/")
	ann.text("ann")
	ann.expect(websocket.OpText, []byte("login success, your uid is ann"))
	tom.text("ann:hi ann")
	ann.expect(websocket.OpText, []byte("hi ann"))
	ann.text("all:hi all")
	tom.expect(websocket.OpText, []byte("hi all"))
	ann.expect(websocket.OpText, []byte("hi all"))

	// Another system pushes through the text port.
	client, err := net.Dial("tcp", innerAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	client.Write([]byte(`{"uid":"tom","percent":"88%"}` + "\n"))
	tom.expect(websocket.OpText, []byte(`{"uid":"tom","percent":"88%"}`))
	r := bufio.NewReader(client)
	if line, _ := r.ReadString('\n'); line != "ok\n" {
		t.Fatalf("push answer %q", line)
	}
	client.Write([]byte(`{"uid":"nobody"}` + "\n"))
	if line, _ := r.ReadString('\n'); line != "fail\n" {
		t.Fatalf("push answer %q", line)
	}
}

// Many connections at once, concurrently, each echoing.
func TestManyClients(t *testing.T) {
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(data) }
	addr := serve(t, w)
	var wg sync.WaitGroup
	errs := make(chan string, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			p := &peer{t: t, conn: conn, br: bufio.NewReader(conn), client: true}
			conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"))
			if resp, err := http.ReadResponse(p.br, nil); err != nil || resp.StatusCode != 101 {
				errs <- "handshake failed"
				return
			}
			for j := range 20 {
				msg := strings.Repeat(string(rune('a'+i%26)), j*50)
				conn.Write(p.rawFrame(true, 0, websocket.OpText, []byte(msg)))
				f, err := p.read()
				if err != nil || string(f.payload) != msg {
					errs <- "bad echo"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
