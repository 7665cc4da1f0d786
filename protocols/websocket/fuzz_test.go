package websocket_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	"github.com/workerman-go/workerman/protocols/websocket"
)

var (
	fuzzOnce       sync.Once
	fuzzServerAddr string
)

// FuzzServerFrames sends arbitrary bytes after a valid handshake to a live
// server over a real socket: the server must neither crash nor hang, and
// the connection must end or stay usable.
func FuzzServerFrames(f *testing.F) {
	p := &peer{client: true}
	f.Add(p.rawFrame(true, 0, websocket.OpText, []byte("hello")))
	f.Add(p.rawFrame(false, 0, websocket.OpText, []byte("he")))
	f.Add(append(p.rawFrame(false, 0, websocket.OpBinary, []byte("a")), p.rawFrame(true, 0, websocket.OpPing, nil)...))
	f.Add(p.rawFrame(true, 0x40, websocket.OpText, []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}))
	f.Add(p.rawFrame(true, 0, websocket.OpClose, []byte{0x03, 0xe8, 'b', 'y', 'e'}))
	f.Add([]byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzOnce.Do(func() {
			w := workerman.NewWorker("websocket://127.0.0.1:0")
			w.Protocol = &websocket.Server{Compression: true}
			w.OnConnect = func(c *workerman.Connection) { c.MaxPackageSize = 1 << 16 }
			w.OnMessage = echo
			wmtest.Do(func() {
				if err := w.Listen(); err != nil {
					panic(err)
				}
				fuzzServerAddr = w.Addr().String()
			})
		})
		conn, err := net.Dial("tcp", fuzzServerAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(conn)
		conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"))
		if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
			t.Fatalf("handshake: %v", err)
		}
		conn.Write(data)
		// Then a ping: either it is answered, or the connection ends.
		conn.Write((&peer{client: true}).rawFrame(true, 0, websocket.OpPing, []byte("end")))
		conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		q := &peer{t: t, conn: conn, br: br, client: true}
		for {
			fr, err := q.read()
			if err == io.EOF || err == io.ErrUnexpectedEOF || isReset(err) {
				return
			}
			if err != nil {
				// The data may end inside a frame the server still waits
				// for; then the server must still serve others.
				checkAlive(t)
				return
			}
			if fr.op == websocket.OpPong && string(fr.payload) == "end" {
				return
			}
		}
	})
}

func checkAlive(t *testing.T) {
	conn, err := net.Dial("tcp", fuzzServerAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
		t.Fatalf("server no longer answers handshakes: %v", err)
	}
	q := &peer{t: t, conn: conn, br: br, client: true}
	q.send(true, 0, websocket.OpPing, []byte("alive"))
	q.expect(websocket.OpPong, []byte("alive"))
}

func isReset(err error) bool {
	var op *net.OpError
	if ok := asOpError(err, &op); ok {
		return !op.Timeout()
	}
	return false
}

func asOpError(err error, target **net.OpError) bool {
	for err != nil {
		if o, ok := err.(*net.OpError); ok {
			*target = o
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}
