package websocket_test

import (
	"bufio"
	"encoding/binary"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	"github.com/workerman-go/workerman/protocols/websocket"
)

// drainAll asks the protocol of every connection of w to end it, as a
// stopping worker process does.
func drainAll(w *workerman.Worker) {
	wmtest.Do(func() {
		for _, c := range w.Connections {
			if d, ok := c.Protocol.(workerman.Drainer); ok {
				d.Drain(c)
			}
		}
	})
}

// expectGoodbye reads the close frame of a stopping process, after the
// messages sent before it.
func expectGoodbye(t *testing.T, p *peer) {
	t.Helper()
	f := p.mustRead()
	if f.op != websocket.OpClose || len(f.payload) < 2 {
		t.Fatalf("got %v, want a close frame", f)
	}
	if code, reason := int(binary.BigEndian.Uint16(f.payload)), string(f.payload[2:]); code != websocket.CloseGoingAway || reason != websocket.GoingAwayReason {
		t.Fatalf("close %d %q, want %d %q", code, reason, websocket.CloseGoingAway, websocket.GoingAwayReason)
	}
}

// Drain sends the close frame with 1001 after what was queued, and closes
// the TCP connection once the client has answered.
func TestDrainOpen(t *testing.T) {
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) {
		c.Send("last words")
		c.Protocol.(workerman.Drainer).Drain(c)
		// Nothing goes out after the close frame.
		if r := c.Send("too late"); r != workerman.SendFailed {
			t.Errorf("a send after the goodbye: %v", r)
		}
	}
	addr := serve(t, w)
	p, resp := dialRaw(t, addr, "/")
	if resp == nil || resp.StatusCode != 101 {
		t.Fatalf("answer %v", resp)
	}
	p.text("bye?")
	p.expect(websocket.OpText, []byte("last words"))
	expectGoodbye(t, p)
	// Still open until the client answers.
	p.expectNothing(100 * time.Millisecond)
	p.send(true, 0, websocket.OpClose, []byte{0x03, 0xe9})
	p.expectEOF()
}

// A client that does not answer the goodbye is closed after a second.
func TestDrainUnanswered(t *testing.T) {
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	addr := serve(t, w)
	p, resp := dialRaw(t, addr, "/")
	if resp == nil || resp.StatusCode != 101 {
		t.Fatalf("answer %v", resp)
	}
	drainAll(w)
	expectGoodbye(t, p)
	p.expectEOF()
}

// A connection still in its handshake when its process stops completes
// the handshake, then gets the goodbye.
func TestDrainDuringHandshake(t *testing.T) {
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	connected := make(chan struct{}, 1)
	w.OnConnect = func(c *workerman.Connection) {
		c.Send("welcome")
		connected <- struct{}{}
	}
	addr := serve(t, w)
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	p := &peer{t: t, conn: conn, br: bufio.NewReader(conn), client: true}
	<-connected
	drainAll(w)
	p.write([]byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	if resp, err := http.ReadResponse(p.br, nil); err != nil || resp.StatusCode != 101 {
		t.Fatalf("handshake after the drain: %v %v", resp, err)
	}
	p.expect(websocket.OpText, []byte("welcome"))
	expectGoodbye(t, p)
	p.send(true, 0, websocket.OpClose, []byte{0x03, 0xe9})
	p.expectEOF()
}
