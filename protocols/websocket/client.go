package websocket

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/workerman-go/workerman"
)

// Client is the WebSocket client protocol, the "ws" scheme of outbound
// connections:
//
//	con, _ := workerman.NewAsyncTcpConnection("ws://127.0.0.1:8080/chat", nil)
//	con.OnConnect = func(con *workerman.Connection) { con.Send("hello") }
//	con.OnMessage = func(con *workerman.Connection, data any) { fmt.Println(data) }
//	con.Connect()
//
// The handshake is sent as soon as the TCP (or TLS, with DialOptions
// Transport "ssl") connection is up, and OnConnect runs right after; what
// is sent before the server's answer arrives is held and sent after it.
// Frames are masked, pings answered, close frames answered. Reconnect
// starts a new handshake. A failed handshake is reported to OnError with
// workerman.ConnectFail, followed by OnClose.
//
// DefaultClient serves "ws://" addresses; for other settings set the
// connection's Protocol to a Client of your own before Connect. The fields
// are read when its first connection opens.
type Client struct {
	// OnWebSocketConnect runs when the server accepts the handshake, with
	// its answer.
	OnWebSocketConnect func(c *workerman.Connection, resp *http.Response)
	// OnWebSocketClose runs when the server's close frame arrives.
	OnWebSocketClose func(c *workerman.Connection, code int, reason string)
	// OnPing and OnPong run for each ping or pong received.
	OnPing, OnPong func(c *workerman.Connection, payload []byte)

	// Header holds extra handshake request headers, such as Origin,
	// Cookie or Authorization.
	Header http.Header
	// Subprotocols are offered in Sec-WebSocket-Protocol, in order of
	// preference; Subprotocol tells which one the server chose.
	Subprotocols []string
	// Type is the frame type of string and []byte sends (default text).
	Type Opcode
	// Compression offers permessage-deflate; see Server.Compression for
	// CompressionThreshold and CompressionLevel. The offer includes
	// client_max_window_bits, as browsers' do, and every valid answer is
	// taken: window bits 8 to 15 in either direction, with or without
	// context takeover. An invalid answer fails the connection.
	Compression          bool
	CompressionThreshold int
	CompressionLevel     int
	// ContextTakeover offers context takeover in both directions, as
	// browsers do; see Server.ContextTakeover for what it costs. Without
	// it the client asks the server to compress each message on its own
	// and does the same.
	ContextTakeover bool
	// MaxFrameSize, when positive, splits sent messages into frames of at
	// most this many payload bytes.
	MaxFrameSize int
	// PingInterval, when positive, sends a ping when the server has sent
	// nothing for that long (Workerman's websocketPingInterval).
	PingInterval time.Duration
	// IdleTimeout, when positive, closes the connection when the server has
	// sent nothing, not even a pong, for that long.
	IdleTimeout time.Duration
	// HandshakeTimeout fails connections whose handshake is not answered in
	// that time; 0 means 10 seconds, negative means never.
	HandshakeTimeout time.Duration
	// MaxHeaderBytes bounds the handshake answer; 0 means 16 KiB.
	MaxHeaderBytes int

	eng *engine
}

func (cl *Client) engine() *engine {
	if cl.eng == nil {
		e := &engine{
			cli:           cl,
			client:        true,
			typ:           cl.Type,
			compress:      cl.Compression,
			takeover:      cl.ContextTakeover,
			level:         cl.CompressionLevel,
			threshold:     cl.CompressionThreshold,
			maxFrame:      cl.MaxFrameSize,
			maxHeader:     cl.MaxHeaderBytes,
			onClose:       cl.OnWebSocketClose,
			onPing:        cl.OnPing,
			onPong:        cl.OnPong,
			pingEvery:     cl.PingInterval,
			idleTimeout:   cl.IdleTimeout,
			handshakeTime: handshakeTime(cl.HandshakeTimeout),
		}
		e.setDefaults()
		cl.eng = e
	}
	return cl.eng
}

// OnConnectionOpen implements workerman.ConnectionOpener: it sends the
// handshake request.
func (cl *Client) OnConnectionOpen(c *workerman.Connection) {
	e := cl.engine()
	var raw [16]byte
	rand.Read(raw[:])
	key := base64.StdEncoding.EncodeToString(raw[:])
	st := &state{e: e, typ: e.typ, flags: flagClient, lastSeen: e.tick, hs: &handshake{accept: AcceptKey(key)}}
	// Frames sent before a reconnect belong to the old session.
	c.ProtocolData = st

	host := c.RemoteHost()
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	defPort := 80
	if c.Transport() == "ssl" {
		defPort = 443
	}
	if p := c.RemotePort(); p != defPort && p != 0 {
		host += ":" + strconv.Itoa(p)
	}
	var b []byte
	b = append(b, "GET "...)
	b = append(b, c.URLPath()...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "...)
	b = append(b, key...)
	b = append(b, "\r\n"...)
	if len(cl.Subprotocols) > 0 {
		b = append(b, "Sec-WebSocket-Protocol: "...)
		b = append(b, strings.Join(cl.Subprotocols, ", ")...)
		b = append(b, "\r\n"...)
	}
	if e.compress {
		b = append(b, "Sec-WebSocket-Extensions: "+clientDeflateOffer(e.takeover)+"\r\n"...)
	}
	b = appendHeaders(b, cl.Header)
	b = append(b, "\r\n"...)
	e.track(c)
	c.SendRaw(b)
}

// OnConnectionClose implements workerman.ConnectionCloser.
func (cl *Client) OnConnectionClose(c *workerman.Connection) {
	if st := stateOf(c); st != nil {
		if st.frag != nil {
			keepSpare(st.frag)
		}
		st.frag, st.hs = nil, nil
		if st.dfl != nil {
			st.dfl.release()
		}
		st.e.untrack(c)
	}
}

// Input implements workerman.Protocol.
func (cl *Client) Input(buf []byte, c *workerman.Connection) (int, error) {
	st := stateOf(c)
	if st == nil {
		return 0, errNotWebSocket
	}
	if st.flags&flagOpen != 0 {
		return st.e.input(buf, c, st)
	}
	if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 && i+4 <= st.e.maxHeader {
		return i + 4, nil
	}
	if len(buf) > st.e.maxHeader {
		st.handshakeFailed(c, errors.New("handshake answer larger than "+strconv.Itoa(st.e.maxHeader)+" bytes"))
	}
	return 0, nil
}

// Decode implements workerman.Protocol.
func (cl *Client) Decode(pkg []byte, c *workerman.Connection) (any, error) {
	return decodeMessage(pkg, c, (*engine).clientHandshake)
}

// Encode implements workerman.Protocol.
func (cl *Client) Encode(dst []byte, data any, c *workerman.Connection) ([]byte, error) {
	return encodeMessage(dst, data, c)
}

func (st *state) handshakeFailed(c *workerman.Connection, err error) {
	if c.Status() != workerman.StatusEstablished {
		return
	}
	if c.OnError != nil {
		c.OnError(c, workerman.ConnectFail, "websocket handshake with "+net.JoinHostPort(c.RemoteHost(), strconv.Itoa(c.RemotePort()))+" failed: "+err.Error())
	}
	c.Destroy()
}

func (e *engine) clientHandshake(pkg []byte, c *workerman.Connection, st *state) {
	resp, err := http.ReadResponse(bufio.NewReaderSize(bytes.NewReader(pkg), max(len(pkg), 16)), &http.Request{Method: http.MethodGet})
	if err != nil {
		st.handshakeFailed(c, fmt.Errorf("malformed answer: %w", err))
		return
	}
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols:
		err = fmt.Errorf("server answered %s", resp.Status)
	case !headerHasToken(resp.Header, "Upgrade", "websocket"):
		err = errors.New("answer lacks \"Upgrade: websocket\"")
	case !headerHasToken(resp.Header, "Connection", "upgrade"):
		err = errors.New("answer lacks \"Connection: Upgrade\"")
	case resp.Header.Get("Sec-Websocket-Accept") != st.hs.accept:
		err = errors.New("wrong Sec-WebSocket-Accept")
	}
	if err == nil {
		if p := resp.Header.Get("Sec-Websocket-Protocol"); p != "" {
			st.sub = 0
			for i, o := range e.cli.Subprotocols {
				if o == p && i < 255 {
					st.sub = uint8(i + 1)
				}
			}
			if st.sub == 0 {
				err = fmt.Errorf("server chose subprotocol %q that was not offered", p)
			}
		}
	}
	if err == nil {
		var (
			on bool
			p  deflateParams
		)
		if e.compress {
			on, p, err = checkDeflateResponse(resp.Header, e.takeover)
		} else if len(resp.Header.Values("Sec-Websocket-Extensions")) > 0 {
			err = errors.New("server accepted an extension that was not offered")
		}
		if on {
			st.flags |= flagDeflate
			st.dfl = newDeflateConn(p, true, e.takeover)
		}
	}
	if err != nil {
		st.handshakeFailed(c, err)
		return
	}
	pending := st.hs.pending
	st.hs = nil
	st.flags |= flagOpen
	st.lastSeen = e.tick
	if len(pending) > 0 {
		c.SendRaw(pending)
	}
	if e.cli.OnWebSocketConnect != nil && c.Status() == workerman.StatusEstablished {
		e.cli.OnWebSocketConnect(c, resp)
	}
}
