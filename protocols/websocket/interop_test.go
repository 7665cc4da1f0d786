package websocket_test

// Interoperability with independent implementations, over loopback:
// Python's websockets (Debian python3-websockets), Node's ws (npm, in
// testdata/node) and headless Chromium.

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	"github.com/workerman-go/workerman/protocols/websocket"
)

func requirePython(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		py = wmtest.RequireTool(t, "python3")
	}
	if err := exec.Command(py, "-c", "import websockets").Run(); err != nil {
		if os.Getenv("CI") != "" || os.Getenv("WORKERMAN_REQUIRE_TOOLS") != "" {
			t.Fatalf("python3-websockets is required by this test and is not installed")
		}
		t.Skip("python3-websockets not installed")
	}
	return py
}

func requireNodeWS(t *testing.T) string {
	t.Helper()
	node := wmtest.RequireTool(t, "node")
	if _, err := os.Stat("testdata/node/node_modules/ws"); err != nil {
		if os.Getenv("CI") != "" || os.Getenv("WORKERMAN_REQUIRE_TOOLS") != "" {
			t.Fatalf("the ws npm package is required: run npm ci --prefix protocols/websocket/testdata/node")
		}
		t.Skip("ws npm package not installed (npm ci --prefix protocols/websocket/testdata/node)")
	}
	return node
}

// echoServer starts a compressing echo server and returns its address.
func echoServer(t *testing.T, takeover bool) string {
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.Protocol = &websocket.Server{Compression: true, CompressionThreshold: 1, ContextTakeover: takeover}
	w.OnMessage = echo
	w.OnConnect = func(c *workerman.Connection) { c.MaxPackageSize = 1 << 24 }
	return serve(t, w)
}

// runPeerClient runs an independent client's scenario against our server
// and returns the extensions it agreed on. params, when not empty, are the
// client's permessage-deflate parameters in JSON.
func runPeerClient(t *testing.T, takeover bool, params, name, script string) string {
	addr := echoServer(t, takeover)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	args := []string{script, "client", "ws://" + addr + "/"}
	if params != "" {
		args = append(args, params)
	}
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	var ext string
	ok := false
	for _, line := range strings.Split(string(out), "\n") {
		if e, found := strings.CutPrefix(line, "OK"); found {
			ext, ok = e, true
		}
	}
	if err != nil || !ok {
		t.Fatalf("%s client: %v\n%s", name, err, out)
	}
	return strings.TrimSpace(ext)
}

// startPeerServer starts an independent echo server and returns its port.
// params, when not empty, are its permessage-deflate parameters in JSON.
func startPeerServer(t *testing.T, params, name, script string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	args := []string{script, "server"}
	if params != "" {
		args = append(args, params)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("%s server did not start: %v", name, err)
	}
	return strings.TrimSpace(line)
}

// clientScenario drives our ws:// client against an independent echo
// server and returns the server's Sec-WebSocket-Extensions answer.
func clientScenario(t *testing.T, port string, takeover bool) string {
	type msg struct {
		op   websocket.Opcode
		data string
	}
	got := make(chan msg, 16)
	events := make(chan string, 16)
	big := strings.Repeat("κόσμε 0123456789 ", 12000)
	ext := make(chan string, 1)
	con := connectClient(t, "ws://127.0.0.1:"+port+"/", func(con *workerman.Connection) {
		con.MaxPackageSize = 1 << 24
		con.Protocol = &websocket.Client{
			Compression:          true,
			CompressionThreshold: 1,
			ContextTakeover:      takeover,
			OnWebSocketConnect: func(c *workerman.Connection, resp *http.Response) {
				if !websocket.Compressed(c) {
					events <- "not compressed"
				}
				ext <- resp.Header.Get("Sec-WebSocket-Extensions")
				c.Send("hello")
				c.Send(websocket.Binary([]byte{0, 1, 2, 255}))
				c.Send(big)
				for i := range 40 {
					c.Send(chatMessage(i))
				}
				c.Send(websocket.Frame{Opcode: websocket.OpText, Payload: []byte("frag")})
				c.Send(websocket.Ping("between"))
				c.Send(websocket.Frame{Opcode: websocket.OpContinuation, Payload: []byte("men")})
				c.Send(websocket.Frame{Opcode: websocket.OpContinuation, Fin: true, Payload: []byte("ted")})
			},
			OnPong: func(c *workerman.Connection, p []byte) { events <- "pong " + string(p) },
			OnWebSocketClose: func(c *workerman.Connection, code int, reason string) {
				events <- "close " + itoa(code)
			},
		}
		con.OnMessage = func(c *workerman.Connection, data any) {
			switch v := data.(type) {
			case string:
				got <- msg{websocket.MessageType(c), v}
			case []byte:
				got <- msg{websocket.MessageType(c), string(v)}
			}
		}
		con.OnClose = func(*workerman.Connection) { events <- "closed" }
	})
	want := []msg{{websocket.OpText, "hello"}, {websocket.OpBinary, "\x00\x01\x02\xff"}, {websocket.OpText, big}}
	for i := range 40 {
		want = append(want, msg{websocket.OpText, chatMessage(i)})
	}
	for _, want := range append(want, msg{websocket.OpText, "fragmented"}) {
		if m := recv(t, got); m.op != want.op || m.data != want.data {
			t.Fatalf("got %v %q, want %v %q", m.op, trunc([]byte(m.data)), want.op, trunc([]byte(want.data)))
		}
	}
	if e := recv(t, events); e != "pong between" {
		t.Fatalf("got %q", e)
	}
	// Close from our side; the peer answers with the same code.
	wmtest.Do(func() { con.Send(websocket.CloseFrame{Code: 4000, Reason: "done"}) })
	if e := recv(t, events); e != "closed" {
		t.Fatalf("got %q", e)
	}
	return recv(t, ext)
}

// chatMessage is the i-th of a series of small, similar messages, which
// compress far better with context takeover.
func chatMessage(i int) string {
	return `{"type":"message","room":"general","from":"user` + itoa(i%5) + `","text":"message number ` + itoa(i) + `, hello again"}`
}

func TestInteropPythonClient(t *testing.T) {
	py := requirePython(t)
	runPeerClient(t, false, "", py, "testdata/peer.py")
}

func TestInteropPythonServer(t *testing.T) {
	py := requirePython(t)
	clientScenario(t, startPeerServer(t, "", py, "testdata/peer.py"), false)
}

func TestInteropNodeClient(t *testing.T) {
	node := requireNodeWS(t)
	runPeerClient(t, false, "", node, "testdata/node/peer.js")
}

func TestInteropNodeServer(t *testing.T) {
	node := requireNodeWS(t)
	clientScenario(t, startPeerServer(t, "", node, "testdata/node/peer.js"), false)
}

// TestInteropChromium serves a page on loopback; headless Chromium opens a
// WebSocket to our server, exchanges messages and reports the outcome over
// the socket.
func TestInteropChromium(t *testing.T) {
	chromium := wmtest.RequireTool(t, "chromium")
	results := make(chan string, 1)
	var extLine string
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.Protocol = &websocket.Server{Compression: true, OnWebSocketConnect: func(c *workerman.Connection, r *http.Request) {
		extLine = r.Header.Get("Sec-WebSocket-Extensions")
	}}
	w.OnMessage = func(c *workerman.Connection, data any) {
		switch v := data.(type) {
		case string:
			if strings.HasPrefix(v, "RESULT ") {
				results <- v
				return
			}
			c.Send("hello " + v)
		case []byte:
			c.Send(websocket.Binary(v))
		}
	}
	w.OnConnect = func(c *workerman.Connection) { c.MaxPackageSize = 1 << 24 }
	addr := serve(t, w)

	page, err := os.ReadFile("testdata/chromium.html")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		rw.Write(page)
	})}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	url := "http://" + ln.Addr().String() + "/?ws=ws://" + addr + "/"
	cmd := exec.CommandContext(ctx, chromium, "--no-sandbox", "--headless", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(t.TempDir(), "profile"), url)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	select {
	case r := <-results:
		if !strings.HasPrefix(r, "RESULT OK") {
			t.Fatalf("page reported %q", r)
		}
		if !strings.Contains(r, "permessage-deflate") {
			t.Fatalf("compression not negotiated with Chromium (offer %q): %q", extLine, r)
		}
	case <-ctx.Done():
		t.Fatalf("no result from Chromium; its output:\n%s", out.String())
	}
}
