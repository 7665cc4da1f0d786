package websocket_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/protocols/websocket"
)

// zpeer is the raw peer's side of permessage-deflate with context
// takeover, written on compress/flate alone: a compressor kept across
// messages, and the history of inflated messages as the dictionary of the
// next one.
type zpeer struct {
	w         *flate.Writer
	out       bytes.Buffer
	history   []byte
	noContext bool // compress each message on its own
}

// newZpeer returns the compression of the raw peer (the client when
// client is set) of a connection that agreed on ext.
func newZpeer(ext string, client bool) *zpeer {
	z := &zpeer{}
	z.w, _ = flate.NewWriter(&z.out, flate.BestCompression)
	side := "server_"
	if client {
		side = "client_"
	}
	z.noContext = strings.Contains(ext, side+"no_context_takeover")
	for bits := 8; bits < 15; bits++ {
		if strings.Contains(ext, side+"max_window_bits="+itoa(bits)) {
			z.noContext = true
		}
	}
	return z
}

func (z *zpeer) deflate(msg []byte) []byte {
	if z.noContext {
		z.w.Reset(&z.out)
	}
	z.out.Reset()
	z.w.Write(msg)
	z.w.Flush()
	b := z.out.Bytes()
	return bytes.Clone(b[:len(b)-4])
}

func (z *zpeer) inflate(t *testing.T, data []byte, window int) []byte {
	t.Helper()
	dict := z.history[max(0, len(z.history)-window):]
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(data), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff})), dict)
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("inflate with a %d-byte window: %v", window, err)
	}
	z.history = append(z.history, out...)
	return out
}

func chatLine(i int) []byte {
	return []byte(`{"type":"message","room":"general","from":"user` + itoa(i%5) + `","time":` + itoa(1764633600+7*i) + `,"text":"see you at the meeting at noon, number ` + itoa(i) + `"}`)
}

// TestContextTakeover: with ContextTakeover on both sides of a raw peer
// that uses it too, messages refer back to earlier ones in both
// directions, and the echoes come back much smaller than the same
// message compressed on its own.
func TestContextTakeover(t *testing.T) {
	s := subject{
		compression: true,
		server:      &websocket.Server{Compression: true, ContextTakeover: true, CompressionThreshold: 1},
		client:      &websocket.Client{Compression: true, ContextTakeover: true, CompressionThreshold: 1},
		answer:      "permessage-deflate",
	}
	forRoles(t, s, func(t *testing.T, p *peer) {
		if strings.Contains(p.ext, "no_context_takeover") {
			t.Fatalf("extension answer %q", p.ext)
		}
		z := newZpeer(p.ext, p.client)
		var alone, withContext int
		for i := range 50 {
			msg := chatLine(i)
			p.send(true, 0x40, websocket.OpText, z.deflate(msg))
			f := p.mustRead()
			if f.rsv != 0x40 || !f.fin {
				t.Fatalf("echo %d: %v", i, f)
			}
			if got := z.inflate(t, f.payload, 32768); !bytes.Equal(got, msg) {
				t.Fatalf("echo %d: %q", i, got)
			}
			if i >= 10 {
				alone += len(deflate(msg))
				withContext += len(f.payload)
			}
		}
		if withContext*2 > alone {
			t.Fatalf("echoes took %d compressed bytes, %d compressed one by one", withContext, alone)
		}
		t.Logf("40 echoes: %d bytes with context takeover, %d compressed one by one", withContext, alone)
	})
}

// TestSmallWindow: a peer that limits our output to a 9-bit window gets
// messages that inflate with only the last 512 bytes as dictionary, short
// and long, and its own output with context takeover is inflated.
func TestSmallWindow(t *testing.T) {
	s := subject{
		compression: true,
		server:      &websocket.Server{Compression: true, ContextTakeover: true, CompressionThreshold: 1},
		client:      &websocket.Client{Compression: true, ContextTakeover: true, CompressionThreshold: 1},
		offer:       "permessage-deflate; server_max_window_bits=9; client_max_window_bits",
		answer:      "permessage-deflate; server_max_window_bits=15; client_max_window_bits=9",
	}
	forRoles(t, s, func(t *testing.T, p *peer) {
		z := newZpeer(p.ext, p.client)
		for i := range 20 {
			msg := chatLine(i)
			if i%4 == 3 {
				msg = bytes.Repeat(msg, 20) // past the window
			}
			p.send(true, 0x40, websocket.OpText, z.deflate(msg))
			f := p.mustRead()
			if f.rsv != 0x40 {
				t.Fatalf("echo %d not compressed: %v", i, f)
			}
			if got := z.inflate(t, f.payload, 512); !bytes.Equal(got, msg) {
				t.Fatalf("echo %d: %q", i, trunc(got))
			}
		}
	})
}

// TestClientDeflateAnswers: the client takes every valid answer to its
// offer and fails the connection, with the reason, on an invalid one.
func TestClientDeflateAnswers(t *testing.T) {
	valid := []string{
		"permessage-deflate",
		"permessage-deflate; server_no_context_takeover",
		"permessage-deflate; client_no_context_takeover",
		"permessage-deflate; server_no_context_takeover; client_no_context_takeover",
		"permessage-deflate; server_max_window_bits=8",
		"permessage-deflate; client_max_window_bits=8",
		"permessage-deflate; server_max_window_bits=15; client_max_window_bits=15",
		"permessage-deflate; client_max_window_bits=10; server_no_context_takeover; server_max_window_bits=12",
		"permessage-deflate; client_max_window_bits=\"9\"",
	}
	invalid := map[string]string{
		"permessage-deflate; server_max_window_bits":                                 "bad server_max_window_bits",
		"permessage-deflate; client_max_window_bits":                                 "bad client_max_window_bits",
		"permessage-deflate; client_max_window_bits=7":                               "bad client_max_window_bits",
		"permessage-deflate; server_max_window_bits=16":                              "bad server_max_window_bits",
		"permessage-deflate; server_max_window_bits=010":                             "bad server_max_window_bits",
		"permessage-deflate; client_no_context_takeover=1":                           "has a value",
		"permessage-deflate; client_no_context_takeover; client_no_context_takeover": "duplicate",
		"permessage-deflate; mystery":                                                "unexpected permessage-deflate parameter",
		"permessage-deflate, permessage-deflate":                                     "not offered",
		"x-webkit-deflate-frame":                                                     "not offered",
		"permessage-deflate; =":                                                      "malformed",
	}
	for _, takeover := range []bool{true, false} {
		for _, answer := range valid {
			if !takeover && !strings.Contains(answer, "server_no_context_takeover") {
				invalid[answer] = "server did not accept server_no_context_takeover"
				continue
			}
			t.Run("valid/"+answer, func(t *testing.T) {
				cl := &websocket.Client{Compression: true, ContextTakeover: takeover, CompressionThreshold: 1}
				p := clientPeer(t, subject{compression: true, client: cl, answer: answer})
				z := newZpeer(answer, false)
				// The client's output refers back only with context
				// takeover; the dictionary is then the full window.
				window := 0
				if takeover && !strings.Contains(answer, "client_no_context_takeover") && !strings.Contains(answer, "client_max_window_bits=") ||
					strings.Contains(answer, "client_max_window_bits=15") {
					window = 32768
				}
				for i := range 5 {
					msg := bytes.Repeat(chatLine(i), 1+i*3)
					p.send(true, 0x40, websocket.OpText, z.deflate(msg))
					f := p.mustRead()
					if f.rsv != 0x40 {
						t.Fatalf("echo %d not compressed: %v", i, f)
					}
					if got := z.inflate(t, f.payload, window); !bytes.Equal(got, msg) {
						t.Fatalf("echo %d: %q", i, trunc(got))
					}
				}
			})
		}
	}
	for answer, why := range invalid {
		t.Run("invalid/"+answer, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			offers := make(chan string, 1)
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
				offers <- req.Header.Get("Sec-WebSocket-Extensions")
				conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
					websocket.AcceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\nSec-WebSocket-Extensions: " + answer + "\r\n\r\n"))
				time.Sleep(2 * time.Second)
			}()
			events := make(chan string, 4)
			connectClient(t, "ws://"+ln.Addr().String()+"/", func(con *workerman.Connection) {
				con.Protocol = &websocket.Client{Compression: true}
				con.OnError = func(c *workerman.Connection, code int, msg string) {
					if code != workerman.ConnectFail {
						t.Errorf("code %d", code)
					}
					events <- "error " + msg
				}
				con.OnClose = func(*workerman.Connection) { events <- "close" }
				con.OnMessage = func(*workerman.Connection, any) { events <- "message" }
			})
			if o := recv(t, offers); o != "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits" {
				t.Fatalf("offer %q", o)
			}
			if e := recv(t, events); !strings.HasPrefix(e, "error websocket handshake with") || !strings.Contains(e, why) {
				t.Fatalf("got %q, want an error about %q", e, why)
			}
			if e := recv(t, events); e != "close" {
				t.Fatalf("got %q", e)
			}
		})
	}
}

// TestServerContextAnswers: what a server with ContextTakeover answers to
// the offers of browsers and other clients.
func TestServerContextAnswers(t *testing.T) {
	cases := []struct{ offer, want string }{
		{"permessage-deflate; client_max_window_bits", "permessage-deflate"},
		{"permessage-deflate", "permessage-deflate"},
		{"permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover"},
		{"permessage-deflate; client_no_context_takeover; client_max_window_bits=10", "permessage-deflate; client_no_context_takeover"},
		{"permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"},
		{"permessage-deflate; server_max_window_bits=15", "permessage-deflate; server_max_window_bits=15"},
	}
	for _, tc := range cases {
		t.Run(tc.offer, func(t *testing.T) {
			p := serverPeer(t, subject{compression: true, offer: tc.offer,
				server: &websocket.Server{Compression: true, ContextTakeover: true, CompressionThreshold: 1}})
			if p.ext != tc.want {
				t.Fatalf("answer %q, want %q", p.ext, tc.want)
			}
			z := newZpeer(p.ext, true)
			for i := range 3 {
				msg := chatLine(i)
				p.send(true, 0x40, websocket.OpText, z.deflate(msg))
				f := p.mustRead()
				window := 32768
				if strings.Contains(tc.want, "=10") {
					window = 1024
				}
				if got := z.inflate(t, f.payload, window); !bytes.Equal(got, msg) {
					t.Fatalf("echo %d: %q", i, got)
				}
			}
		})
	}
}
