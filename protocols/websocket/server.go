package websocket

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/workerman-go/workerman"
)

// Server is the WebSocket server protocol (RFC 6455, version 13), the
// "websocket" scheme: NewWorker("websocket://0.0.0.0:2000") uses a Server
// with default settings. To change them, give the worker its own Server
// before it starts:
//
//	w := workerman.NewWorker("websocket://0.0.0.0:8181")
//	w.Protocol = &websocket.Server{
//		OnWebSocketConnect: func(c *workerman.Connection, r *http.Request) {
//			if r.Header.Get("Origin") != "http://chat.workerman.net" {
//				c.Close()
//			}
//		},
//	}
//
// The worker's OnConnect runs when the TCP connection is accepted, before
// the handshake; OnMessage receives each complete message, a string for a
// text message and a []byte (valid until OnMessage returns) for a binary
// one. Frames sent before the handshake completes are held and sent after
// it. Control frames are handled by the protocol: pings are answered, a
// close frame is answered and the connection closed.
//
// The fields are read when the first connection opens; set them before
// the worker starts.
type Server struct {
	// OnWebSocketConnect runs when a handshake request arrives, before the
	// answer is sent. r is built from the request: path, query (r.URL),
	// headers (Origin, X-Real-IP, cookies...), r.Host and r.RemoteAddr.
	// Close c to refuse the connection, or call Refuse to answer with an
	// HTTP status; add headers to the answer with ResponseHeader. A hook set
	// on the connection with SetOnWebSocketConnect runs instead.
	//
	// r is the standard library's net/http Request, not the *http.Request
	// of this project's HTTP workers (protocols/http): the handshake is one
	// GET without a body, and the standard type gives URL.Query(), Header
	// and Cookie() as Go code written for other WebSocket servers expects
	// (gorilla/websocket's CheckOrigin takes it too). The project's Request
	// exists for what a handshake lacks: streamed bodies, uploads, sessions.
	// A program using both imports one under another name.
	OnWebSocketConnect func(c *workerman.Connection, r *http.Request)
	// OnWebSocketClose runs when the peer's close frame arrives, with its
	// status code (CloseNoStatus if it had none) and reason. OnClose still
	// runs when the connection ends.
	OnWebSocketClose func(c *workerman.Connection, code int, reason string)
	// OnPing and OnPong run for each ping or pong received; pings are
	// answered whether or not OnPing is set.
	OnPing, OnPong func(c *workerman.Connection, payload []byte)

	// Type is the frame type of string and []byte sends on new connections:
	// BinaryTypeBlob (text, the default) or BinaryTypeArrayBuffer (binary).
	Type Opcode
	// Subprotocols lists the subprotocols the server speaks, in order of
	// preference; the first one the client also offers is chosen
	// (see Subprotocol).
	Subprotocols []string
	// Compression enables permessage-deflate (RFC 7692) with clients that
	// offer it. Messages shorter than CompressionThreshold (default 64)
	// bytes are sent uncompressed; CompressionLevel is a compress/flate
	// level (default flate.BestSpeed). Inflated messages are bounded by the
	// connection's MaxPackageSize.
	Compression          bool
	CompressionThreshold int
	CompressionLevel     int
	// ContextTakeover lets compressed messages refer back to earlier ones
	// in each direction where the client allows it (RFC 7692 context
	// takeover), which compresses chat-like traffic of many small, similar
	// messages several times better. Its cost per connection: a compressor
	// of its own, about 790 KiB, from the first compressed message it sends
	// until it closes, and the last 32 KiB of the messages it received.
	// CompressionLevel then defaults to 2. Without it both directions
	// compress each message on its own and a connection keeps no
	// compression state.
	ContextTakeover bool
	// MaxFrameSize, when positive, splits sent messages into frames of at
	// most this many payload bytes.
	MaxFrameSize int
	// PingInterval, when positive, sends a ping to each connection that has
	// sent nothing for that long; browsers and most clients answer with a
	// pong automatically.
	PingInterval time.Duration
	// IdleTimeout, when positive, closes (with status 1001) connections that
	// have sent nothing, not even a pong, for that long: the manual's
	// heartbeat, without a timer of your own.
	IdleTimeout time.Duration
	// HandshakeTimeout closes connections that have not completed the
	// handshake in that time; 0 means 10 seconds, negative means never.
	HandshakeTimeout time.Duration
	// MaxHeaderBytes bounds the handshake request; 0 means 16 KiB.
	MaxHeaderBytes int

	eng *engine
}

// DefaultServer is the protocol registered as "websocket", used by workers
// created with a websocket:// address. Leave it unchanged: give a worker
// its own Server for other settings.
var DefaultServer = &Server{}

// DefaultClient is the protocol registered as "ws", used by outbound
// ws:// connections. Leave it unchanged: set a connection's Protocol to its
// own Client for other settings.
var DefaultClient = &Client{}

func init() {
	workerman.RegisterProtocol("websocket", DefaultServer)
	workerman.RegisterProtocol("ws", DefaultClient)
}

func (s *Server) engine() *engine {
	if s.eng == nil {
		e := &engine{
			srv:           s,
			typ:           s.Type,
			compress:      s.Compression,
			takeover:      s.ContextTakeover,
			level:         s.CompressionLevel,
			threshold:     s.CompressionThreshold,
			maxFrame:      s.MaxFrameSize,
			maxHeader:     s.MaxHeaderBytes,
			onClose:       s.OnWebSocketClose,
			onPing:        s.OnPing,
			onPong:        s.OnPong,
			pingEvery:     s.PingInterval,
			idleTimeout:   s.IdleTimeout,
			handshakeTime: handshakeTime(s.HandshakeTimeout),
		}
		e.setDefaults()
		s.eng = e
	}
	return s.eng
}

// OnConnectionOpen implements workerman.ConnectionOpener.
func (s *Server) OnConnectionOpen(c *workerman.Connection) {
	e := s.engine()
	if c.Worker == nil {
		if c.OnError != nil {
			c.OnError(c, workerman.ConnectFail, "websocket:// is the server protocol; connect with ws://")
		}
		c.Destroy()
		return
	}
	c.ProtocolData = &state{e: e, typ: e.typ, lastSeen: e.tick}
	e.track(c)
}

// OnConnectionClose implements workerman.ConnectionCloser.
func (s *Server) OnConnectionClose(c *workerman.Connection) {
	if st := stateOf(c); st != nil {
		if st.frag != nil {
			keepSpare(st.frag)
		}
		st.frag, st.hs = nil, nil
		if st.dfl != nil {
			st.dfl.release()
		}
	}
}

// Input implements workerman.Protocol.
func (s *Server) Input(buf []byte, c *workerman.Connection) (int, error) {
	st := stateOf(c)
	if st == nil {
		return 0, errNotWebSocket
	}
	if st.flags&flagOpen != 0 {
		return st.e.input(buf, c, st)
	}
	if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
		if i+4 > st.e.maxHeader {
			refuse(c, http.StatusRequestHeaderFieldsTooLarge, "handshake request too large\n", nil)
			return 0, nil
		}
		return i + 4, nil
	}
	if len(buf) > st.e.maxHeader {
		refuse(c, http.StatusRequestHeaderFieldsTooLarge, "handshake request too large\n", nil)
	}
	return 0, nil
}

// Decode implements workerman.Protocol.
func (s *Server) Decode(pkg []byte, c *workerman.Connection) (any, error) {
	return decodeMessage(pkg, c, (*engine).serverHandshake)
}

// Encode implements workerman.Protocol.
func (s *Server) Encode(dst []byte, data any, c *workerman.Connection) ([]byte, error) {
	return encodeMessage(dst, data, c)
}

const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value that answers a
// Sec-WebSocket-Key (RFC 6455 section 4.2.2).
func AcceptKey(key string) string {
	return string(appendAcceptKey(nil, key))
}

// appendAcceptKey appends AcceptKey(key) to b. A key of usual length (24
// characters) is hashed from a buffer on the stack.
func appendAcceptKey(b []byte, key string) []byte {
	var in [64]byte
	sum := sha1.Sum(append(append(in[:0], key...), acceptGUID...))
	return base64.StdEncoding.AppendEncode(b, sum[:])
}

// requestReaders holds the readers that parse handshake requests.
var requestReaders = sync.Pool{New: func() any {
	return &requestReader{br: bufio.NewReaderSize(nil, 1024)}
}}

// requestReader is a bufio.Reader over the bytes of one handshake request.
type requestReader struct {
	src bytes.Reader
	br  *bufio.Reader
}

// readRequest parses the handshake request pkg with a pooled reader.
func readRequest(pkg []byte) (*http.Request, error) {
	rr := requestReaders.Get().(*requestReader)
	rr.src.Reset(pkg)
	rr.br.Reset(&rr.src)
	r, err := http.ReadRequest(rr.br)
	rr.src.Reset(nil)
	rr.br.Reset(nil)
	requestReaders.Put(rr)
	return r, err
}

// headerHasToken reports whether a comma-separated header contains token,
// case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func (e *engine) serverHandshake(pkg []byte, c *workerman.Connection, st *state) {
	r, err := readRequest(pkg)
	if err != nil {
		refuse(c, http.StatusBadRequest, "malformed handshake request: "+err.Error()+"\n", nil)
		return
	}
	why := ""
	switch {
	case r.Method != http.MethodGet:
		why = "method must be GET"
	case !r.ProtoAtLeast(1, 1):
		why = "HTTP/1.1 or later required"
	case r.Host == "":
		why = "missing Host header"
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		why = "missing \"Upgrade: websocket\" header; this is a WebSocket service and cannot be used with plain HTTP"
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		why = "missing \"Connection: Upgrade\" header"
	case r.ContentLength > 0 || len(r.TransferEncoding) > 0:
		why = "handshake request must not have a body"
	}
	if why != "" {
		refuse(c, http.StatusBadRequest, why+"\n", nil)
		return
	}
	if v := r.Header.Values("Sec-Websocket-Version"); len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
		refuse(c, http.StatusUpgradeRequired, "Sec-WebSocket-Version 13 required\n", http.Header{"Sec-WebSocket-Version": {"13"}})
		return
	}
	keys := r.Header.Values("Sec-Websocket-Key")
	if len(keys) != 1 {
		refuse(c, http.StatusBadRequest, "exactly one Sec-WebSocket-Key header required\n", nil)
		return
	}
	key := strings.TrimSpace(keys[0])
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 16 {
		refuse(c, http.StatusBadRequest, "Sec-WebSocket-Key must be 16 bytes in base64\n", nil)
		return
	}
	r.RemoteAddr = c.RemoteAddress()
	r.Body = http.NoBody

	// Subprotocol: the first of ours that the client offers.
	if len(e.srv.Subprotocols) > 0 {
		offered := map[string]bool{}
		for _, v := range r.Header.Values("Sec-Websocket-Protocol") {
			for _, p := range strings.Split(v, ",") {
				offered[strings.TrimSpace(p)] = true
			}
		}
		for i, p := range e.srv.Subprotocols {
			if offered[p] && i < 255 {
				st.sub = uint8(i + 1)
				break
			}
		}
	}
	var extLine string
	if e.compress {
		if offers, ok := parseExtensions(r.Header); ok {
			if resp, p, ok := acceptDeflate(offers, e.takeover); ok {
				extLine = resp
				st.flags |= flagDeflate
				st.dfl = newDeflateConn(p, false, e.takeover)
			}
		}
	}

	hook := e.srv.OnWebSocketConnect
	if st.hs != nil && st.hs.onConnect != nil {
		hook = st.hs.onConnect
	}
	if hook != nil {
		if st.hs == nil {
			st.hs = &handshake{}
		}
		st.hs.inHook = true
		hook(c, r)
		if st.hs != nil {
			st.hs.inHook = false
		}
		if c.Status() != workerman.StatusEstablished {
			return // refused
		}
	}

	var b []byte
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = appendAcceptKey(b, key)
	b = append(b, "\r\n"...)
	if st.sub > 0 {
		b = append(b, "Sec-WebSocket-Protocol: "...)
		b = append(b, e.srv.Subprotocols[st.sub-1]...)
		b = append(b, "\r\n"...)
	}
	if extLine != "" {
		b = append(b, "Sec-WebSocket-Extensions: "...)
		b = append(b, extLine...)
		b = append(b, "\r\n"...)
	}
	var pending []byte
	if st.hs != nil {
		b = appendHeaders(b, st.hs.header)
		pending = st.hs.pending
	}
	b = append(b, "\r\n"...)
	b = append(b, pending...)
	st.hs = nil
	st.flags |= flagOpen
	st.lastSeen = e.tick
	c.SendRaw(b)
	if st.flags&flagGoAway != 0 {
		st.goAway(c)
	}
}

func appendHeaders(b []byte, h http.Header) []byte {
	for k, vs := range h {
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, strings.NewReplacer("\r", " ", "\n", " ").Replace(v)...)
			b = append(b, "\r\n"...)
		}
	}
	return b
}

// refuse answers a handshake with an HTTP error and closes the connection.
func refuse(c *workerman.Connection, status int, body string, h http.Header) {
	if c.Status() != workerman.StatusEstablished {
		return
	}
	var b []byte
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\nConnection: close\r\n"...)
	b = appendHeaders(b, h)
	b = append(b, "\r\n"...)
	b = append(b, body...)
	c.SendRaw(b)
	c.Close()
}

// Refuse answers a pending handshake with an HTTP status and body and
// closes the connection; call it from OnWebSocketConnect to turn a client
// away with a reason (403 for a foreign Origin, 401 without a token).
func Refuse(c *workerman.Connection, status int, body string) {
	st := stateOf(c)
	if st == nil || st.flags&flagOpen != 0 || st.flags&flagClient != 0 {
		return
	}
	if status < 400 || status > 599 {
		status = http.StatusForbidden
	}
	refuse(c, status, body, nil)
}

// ResponseHeader returns the extra headers of the handshake answer; add to
// it in OnWebSocketConnect (Set-Cookie and the like). It returns nil when c
// is not in its handshake.
func ResponseHeader(c *workerman.Connection) http.Header {
	st := stateOf(c)
	if st == nil || st.flags&(flagOpen|flagClient) != 0 {
		return nil
	}
	if st.hs == nil {
		st.hs = &handshake{}
	}
	if st.hs.header == nil {
		st.hs.header = http.Header{}
	}
	return st.hs.header
}

// SetOnWebSocketConnect sets the handshake hook of one server connection,
// Workerman's $connection->onWebSocketConnect: call it in OnConnect. It runs
// instead of the Server's OnWebSocketConnect.
func SetOnWebSocketConnect(c *workerman.Connection, f func(c *workerman.Connection, r *http.Request)) {
	st := stateOf(c)
	if st == nil || st.flags&(flagOpen|flagClient) != 0 {
		return
	}
	if st.hs == nil {
		st.hs = &handshake{}
	}
	st.hs.onConnect = f
}

// Subprotocol returns the subprotocol chosen in the handshake of c, or "".
func Subprotocol(c *workerman.Connection) string {
	st := stateOf(c)
	if st == nil {
		return ""
	}
	if st.e.srv != nil && st.sub > 0 {
		return st.e.srv.Subprotocols[st.sub-1]
	}
	if st.e.cli != nil && st.sub > 0 && int(st.sub) <= len(st.e.cli.Subprotocols) {
		return st.e.cli.Subprotocols[st.sub-1]
	}
	return ""
}
