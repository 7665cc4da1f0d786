package websocket_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	"github.com/workerman-go/workerman/protocols/websocket"
)

// frame is a frame as the raw test peer sees it.
type frame struct {
	fin     bool
	rsv     byte
	op      websocket.Opcode
	masked  bool
	payload []byte
}

func (f frame) String() string {
	p := string(f.payload)
	if len(p) > 40 {
		p = p[:40] + "..."
	}
	return fmt.Sprintf("{fin:%v rsv:%#x op:%v len:%d %q}", f.fin, f.rsv, f.op, len(f.payload), p)
}

// peer is a hand-written WebSocket endpoint over a real socket: the other
// side of the implementation under test. It writes any frame, valid or
// not, and reads frames back.
type peer struct {
	t       testing.TB
	conn    net.Conn
	br      *bufio.Reader
	client  bool   // the peer is the client: it masks and expects unmasked frames
	lenient bool   // ignore write errors: the other side may already have failed the connection
	ext     string // the Sec-WebSocket-Extensions answer of the handshake
	events  chan event
}

// event is something the implementation under test reported.
type event struct {
	kind string // "message", "close", "wsclose"
	op   websocket.Opcode
	data string
	code int
}

func (p *peer) rawFrame(fin bool, rsv byte, op websocket.Opcode, payload []byte) []byte {
	b0 := rsv | byte(op)
	if fin {
		b0 |= 0x80
	}
	var mb byte
	if p.client {
		mb = 0x80
	}
	var b []byte
	switch n := len(payload); {
	case n <= 125:
		b = append(b, b0, mb|byte(n))
	case n <= 0xffff:
		b = append(b, b0, mb|126, byte(n>>8), byte(n))
	default:
		b = append(b, b0, mb|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if p.client {
		var key [4]byte
		rand.Read(key[:])
		b = append(b, key[:]...)
		for i, c := range payload {
			b = append(b, c^key[i&3])
		}
		return b
	}
	return append(b, payload...)
}

func (p *peer) write(b []byte) {
	p.t.Helper()
	if _, err := p.conn.Write(b); err != nil && !p.lenient {
		p.t.Fatalf("peer write: %v", err)
	}
}

// send writes one frame.
func (p *peer) send(fin bool, rsv byte, op websocket.Opcode, payload []byte) {
	p.t.Helper()
	p.write(p.rawFrame(fin, rsv, op, payload))
}

// sendChopped writes one frame in pieces of n bytes.
func (p *peer) sendChopped(fin bool, op websocket.Opcode, payload []byte, n int) {
	p.t.Helper()
	b := p.rawFrame(fin, 0, op, payload)
	for len(b) > 0 {
		k := min(n, len(b))
		p.write(b[:k])
		b = b[k:]
	}
}

func (p *peer) text(s string)   { p.t.Helper(); p.send(true, 0, websocket.OpText, []byte(s)) }
func (p *peer) binary(b []byte) { p.t.Helper(); p.send(true, 0, websocket.OpBinary, b) }

// read reads the next frame.
func (p *peer) read() (frame, error) {
	var f frame
	var h [2]byte
	if _, err := io.ReadFull(p.br, h[:]); err != nil {
		return f, err
	}
	f.fin = h[0]&0x80 != 0
	f.rsv = h[0] & 0x70
	f.op = websocket.Opcode(h[0] & 0x0f)
	f.masked = h[1]&0x80 != 0
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(p.br, e[:]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		if _, err := io.ReadFull(p.br, e[:]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(e[:])
	}
	var key [4]byte
	if f.masked {
		if _, err := io.ReadFull(p.br, key[:]); err != nil {
			return f, err
		}
	}
	if n > 64<<20 {
		return f, fmt.Errorf("frame of %d bytes", n)
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(p.br, f.payload); err != nil {
		return f, err
	}
	if f.masked {
		for i := range f.payload {
			f.payload[i] ^= key[i&3]
		}
	}
	if f.masked == p.client {
		return f, fmt.Errorf("frame masking wrong for its direction: %v", f)
	}
	return f, nil
}

func (p *peer) mustRead() frame {
	p.t.Helper()
	f, err := p.read()
	if err != nil {
		p.t.Fatalf("peer read: %v", err)
	}
	return f
}

// expect reads a frame and checks its opcode and payload.
func (p *peer) expect(op websocket.Opcode, payload []byte) frame {
	p.t.Helper()
	f := p.mustRead()
	if f.op != op || !f.fin || !bytes.Equal(f.payload, payload) {
		p.t.Fatalf("got frame %v, want %v with %d bytes %q", f, op, len(payload), trunc(payload))
	}
	return f
}

func trunc(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// readMessage reads frames until a whole data message has arrived,
// answering nothing; it returns the opcode and payload, inflating
// compressed messages.
func (p *peer) readMessage() (websocket.Opcode, []byte) {
	p.t.Helper()
	var op websocket.Opcode
	var data []byte
	compressed := false
	for {
		f := p.mustRead()
		if f.op.String() == "ping" || f.op == websocket.OpPong {
			continue
		}
		if f.op != websocket.OpContinuation {
			op = f.op
			compressed = f.rsv&0x40 != 0
		}
		data = append(data, f.payload...)
		if f.fin {
			break
		}
	}
	if compressed {
		data = inflate(p.t, data)
	}
	return op, data
}

// expectClose reads the next frame, which must be a close frame, and checks its code; then
// it checks that the other side closes the TCP connection.
func (p *peer) expectClose(code int) {
	p.t.Helper()
	f, err := p.read()
	if err != nil {
		p.t.Fatalf("waiting for close %d: %v", code, err)
	}
	if f.op != websocket.OpClose {
		p.t.Fatalf("got %v while waiting for close %d", f, code)
	}
	got := websocket.CloseNoStatus
	if len(f.payload) >= 2 {
		got = int(binary.BigEndian.Uint16(f.payload))
	}
	if got != code {
		p.t.Fatalf("close code %d (%q), want %d", got, f.payload, code)
	}
	p.expectEOF()
}

// expectEOF checks that the other side closed the TCP connection without
// sending anything more.
func (p *peer) expectEOF() {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := p.br.ReadByte()
	if err == nil {
		p.t.Fatalf("expected the connection to close, got byte %#x", b)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		p.t.Fatalf("connection not closed: %v", err)
	}
}

// expectNothing checks that nothing arrives for a short while.
func (p *peer) expectNothing(d time.Duration) {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(d))
	f, err := p.read()
	p.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	if err == nil {
		p.t.Fatalf("unexpected frame %v", f)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		p.t.Fatalf("unexpected error %v", err)
	}
}

func inflate(t testing.TB, data []byte) []byte {
	t.Helper()
	r := flate.NewReader(io.MultiReader(bytes.NewReader(data), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff})))
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return out
}

func deflate(data []byte) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write(data)
	w.Flush()
	out := b.Bytes()
	return out[:len(out)-4]
}

// subject configures the implementation under test.
type subject struct {
	compression    bool
	maxPackageSize int
	server         *websocket.Server // server role: used as given when set
	client         *websocket.Client // client role: used as given when set
	offer          string            // server role: the raw client's extension offer, if not the default
	answer         string            // client role: the raw server's extension answer, if not the default
	onMessage      func(c *workerman.Connection, data any)
}

// echo sends a message back as it came.
func echo(c *workerman.Connection, data any) {
	switch v := data.(type) {
	case string:
		c.Send(websocket.Text(v))
	case []byte:
		c.Send(websocket.Binary(v))
	}
}

type role struct {
	name  string
	setup func(t *testing.T, s subject) *peer
}

var roles = []role{{"server", serverPeer}, {"client", clientPeer}}

// forRoles runs f against the server (a raw client talks to it) and
// against the client (a raw server talks to it).
func forRoles(t *testing.T, s subject, f func(t *testing.T, p *peer)) {
	for _, r := range roles {
		t.Run(r.name, func(t *testing.T) {
			f(t, r.setup(t, s))
		})
	}
}

func recordEvents(events chan event, onMessage func(*workerman.Connection, any)) (func(*workerman.Connection, any), func(*workerman.Connection)) {
	return func(c *workerman.Connection, data any) {
			ev := event{kind: "message", op: websocket.MessageType(c)}
			switch v := data.(type) {
			case string:
				ev.data = v
			case []byte:
				ev.data = string(v)
			}
			select {
			case events <- ev:
			default:
			}
			onMessage(c, data)
		}, func(c *workerman.Connection) {
			select {
			case events <- event{kind: "close", code: websocket.CloseCode(c)}:
			default:
			}
		}
}

// serverPeer starts a worker with the server protocol and connects a raw
// client to it.
func serverPeer(t *testing.T, s subject) *peer {
	t.Helper()
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	srv := s.server
	if srv == nil {
		srv = &websocket.Server{Compression: s.compression}
	}
	w.Protocol = srv
	events := make(chan event, 64)
	om := s.onMessage
	if om == nil {
		om = echo
	}
	w.OnMessage, w.OnClose = recordEvents(events, om)
	w.OnConnect = func(c *workerman.Connection) {
		if s.maxPackageSize > 0 {
			c.MaxPackageSize = s.maxPackageSize
		}
	}
	addr := wmtest.Serve(t, w)
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	p := &peer{t: t, conn: conn, br: bufio.NewReader(conn), client: true, events: events}
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	req := "GET /chat HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n"
	if s.compression {
		offer := "permessage-deflate; client_max_window_bits"
		if s.offer != "" {
			offer = s.offer
		}
		req += "Sec-WebSocket-Extensions: " + offer + "\r\n"
	}
	p.write([]byte(req + "\r\n"))
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != websocket.AcceptKey(key) {
		t.Fatalf("handshake answer %v %v", resp.Status, resp.Header)
	}
	if s.compression && !strings.HasPrefix(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		t.Fatalf("compression not negotiated: %v", resp.Header)
	}
	p.ext = resp.Header.Get("Sec-WebSocket-Extensions")
	return p
}

// clientPeer starts a raw server and connects the ws:// client to it.
func clientPeer(t *testing.T, s subject) *peer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	events := make(chan event, 64)
	om := s.onMessage
	if om == nil {
		om = echo
	}
	cl := s.client
	if cl == nil {
		cl = &websocket.Client{Compression: s.compression}
	}
	var con *workerman.Connection
	wmtest.Do(func() {
		con, err = workerman.NewAsyncTcpConnection("ws://"+ln.Addr().String()+"/chat", nil)
		if err != nil {
			return
		}
		con.Protocol = cl
		if s.maxPackageSize > 0 {
			con.MaxPackageSize = s.maxPackageSize
		}
		con.OnMessage, con.OnClose = recordEvents(events, om)
		err = con.Connect()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wmtest.Do(func() { con.Destroy() }) })
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	p := &peer{t: t, conn: conn, br: bufio.NewReader(conn), client: false, events: events}
	req, err := http.ReadRequest(p.br)
	if err != nil {
		t.Fatal(err)
	}
	key := req.Header.Get("Sec-WebSocket-Key")
	if req.URL.Path != "/chat" || req.Header.Get("Upgrade") != "websocket" || req.Header.Get("Sec-WebSocket-Version") != "13" || key == "" {
		t.Fatalf("bad handshake request %v %v", req.URL, req.Header)
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + websocket.AcceptKey(key) + "\r\n"
	if s.compression {
		if !strings.Contains(req.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
			t.Fatalf("client did not offer compression: %v", req.Header)
		}
		answer := "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
		if s.answer != "" {
			answer = s.answer
		}
		resp += "Sec-WebSocket-Extensions: " + answer + "\r\n"
		p.ext = answer
	}
	p.write([]byte(resp + "\r\n"))
	return p
}

// nextEvent waits for an event of the implementation under test.
func (p *peer) nextEvent(kind string) event {
	p.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-p.events:
			if ev.kind == kind {
				return ev
			}
		case <-timeout:
			p.t.Fatalf("no %s event", kind)
		}
	}
}

type wmConn = workerman.Connection
