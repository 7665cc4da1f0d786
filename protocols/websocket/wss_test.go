package websocket_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/testcert"
	"github.com/workerman-go/workerman/protocols/websocket"
)

// wssServer listens a websocket worker on the ssl transport (wss://) and
// returns its address and the CA that signed its certificate.
func wssServer(t *testing.T) (string, *testcert.CA) {
	t.Helper()
	ca, err := testcert.NewCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.Server("server", "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.Transport = "ssl"
	w.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair.TLS}}
	w.Protocol = &websocket.Server{Compression: true}
	w.OnConnect = func(c *workerman.Connection) { c.MaxPackageSize = 1 << 24 }
	w.OnMessage = func(c *workerman.Connection, data any) {
		if s, ok := data.(string); ok {
			c.Send("hello " + s)
			return
		}
		c.Send(websocket.Binary(data.([]byte)))
	}
	return serve(t, w), ca
}

// wss:// is the ws:// client over the ssl transport.
func TestWSS(t *testing.T) {
	addr, ca := wssServer(t)
	got := make(chan string, 4)
	big := strings.Repeat("0123456789", 50000)
	connectClient(t, "ws://"+addr+"/secure", func(con *workerman.Connection) {
		con.MaxPackageSize = 1 << 24
		con.Protocol = &websocket.Client{
			Compression: true,
			OnWebSocketConnect: func(c *workerman.Connection, _ *http.Response) {
				got <- "open " + c.Transport()
			},
		}
		con.OnConnect = func(c *workerman.Connection) {
			c.Send("tom")
			c.Send(big)
		}
		con.OnMessage = func(c *workerman.Connection, data any) { got <- data.(string) }
		con.OnError = func(c *workerman.Connection, code int, msg string) { got <- "error " + msg }
	}, &workerman.DialOptions{Transport: "ssl", TLSConfig: &tls.Config{RootCAs: ca.Pool}})
	for _, want := range []string{"open ssl", "hello tom", "hello " + big} {
		if m := recv(t, got); m != want {
			t.Fatalf("got %q, want %q", trunc([]byte(m)), trunc([]byte(want)))
		}
	}
}

// The wss:// scheme is ws:// with Transport "ssl".
func TestWSSScheme(t *testing.T) {
	addr, ca := wssServer(t)
	got := make(chan string, 4)
	connectClient(t, "wss://"+addr+"/secure", func(con *workerman.Connection) {
		con.OnConnect = func(c *workerman.Connection) { c.Send("ann") }
		con.OnMessage = func(c *workerman.Connection, data any) { got <- c.Transport() + " " + data.(string) }
		con.OnError = func(c *workerman.Connection, code int, msg string) { got <- "error " + msg }
	}, &workerman.DialOptions{TLSConfig: &tls.Config{RootCAs: ca.Pool}})
	if m := recv(t, got); m != "ssl hello ann" {
		t.Fatalf("got %q", m)
	}
}

// An independent client over TLS: Python websockets with the test CA.
func TestWSSInteropPython(t *testing.T) {
	py := requirePython(t)
	addr, ca := wssServer(t)
	script := `
import asyncio, ssl, sys, websockets
async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    async with websockets.connect(sys.argv[1], ssl=ctx, compression="deflate") as ws:
        await ws.send("tom")
        assert await ws.recv() == "hello tom"
        await ws.send(b"\x00\xff")
        assert await ws.recv() == b"\x00\xff"
    print("OK")
asyncio.run(main())
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", script, "wss://"+addr+"/", ca.File).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("python wss client: %v\n%s", err, out)
	}
}
