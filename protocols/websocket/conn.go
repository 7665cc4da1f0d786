package websocket

import (
	"compress/flate"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/workerman-go/workerman"
)

// Values that Send accepts besides string and []byte (which are sent as the
// connection's Type).

// Text is sent as a text frame whatever the connection's Type. It must be
// valid UTF-8.
type Text string

// Binary is sent as a binary frame whatever the connection's Type.
type Binary []byte

// Ping is sent as a ping frame (at most 125 bytes). The peer answers with a
// pong carrying the same bytes.
type Ping []byte

// Pong is sent as an unsolicited pong frame (at most 125 bytes), which a
// peer may use as a one-way heartbeat.
type Pong []byte

// CloseFrame starts the closing handshake: the close frame is sent, then
// the connection closes once its send buffer is written out, so
// c.Send(CloseFrame{...}) and c.Close(CloseFrame{...}) are the same. A zero
// Code sends a close frame without a status. Code and Reason together must
// fit in 125 bytes.
type CloseFrame struct {
	Code   int
	Reason string
}

// Frame is sent as exactly one frame, as given: it lets an application
// fragment a message itself (a text or binary frame with Fin false, then
// continuation frames, the last with Fin true) and interleave control frames
// between the fragments. Frames are never compressed.
type Frame struct {
	Opcode  Opcode
	Fin     bool
	Payload []byte
}

// state flags.
const (
	flagOpen        = 1 << iota // handshake completed
	flagClient                  // client side: mask output, expect unmasked input
	flagDeflate                 // permessage-deflate negotiated (dfl is set)
	flagFragDeflate             // the message being assembled is compressed
	flagCloseSent               // a close frame was sent
	flagCloseRecv               // a close frame was received
	flagPinged                  // a heartbeat ping is unanswered
	flagGoAway                  // the process stops: say goodbye once the handshake is done
)

// state is what a connection keeps in ProtocolData: a few dozen bytes once
// the handshake is done, plus the fragments of a message being assembled.
type state struct {
	e         *engine
	hs        *handshake   // handshake-time data; nil once open
	dfl       *deflateConn // permessage-deflate state, when negotiated
	frag      []byte       // fragments of the message being received
	lastSeen  uint32       // engine tick of the last frame received
	utf8      utf8Stream
	partUTF8  utf8Stream // checking a text frame that has not fully arrived
	partDone  uint32     // payload bytes of that frame checked so far
	flags     uint16
	closeCode uint16
	typ       Opcode // opcode of string and []byte sends
	fragOp    Opcode // opcode of the message being assembled, 0 if none
	msgOp     Opcode // opcode of the last message delivered
	sub       uint8  // index+1 of the negotiated subprotocol (server)
}

// handshake holds what a connection needs only until it is open.
type handshake struct {
	pending   []byte                                     // frames sent before the handshake finished
	onConnect func(*workerman.Connection, *http.Request) // per-connection hook (server)
	header    http.Header                                // extra response headers (server)
	accept    string                                     // expected Sec-WebSocket-Accept (client)
	inHook    bool
}

// engine is the shared logic of a Server or a Client.
type engine struct {
	srv *Server
	cli *Client

	client        bool
	typ           Opcode
	compress      bool
	takeover      bool
	level         int
	threshold     int
	maxFrame      int
	maxHeader     int
	onClose       func(*workerman.Connection, int, string)
	onPing        func(*workerman.Connection, []byte)
	onPong        func(*workerman.Connection, []byte)
	pingEvery     time.Duration
	idleTimeout   time.Duration
	handshakeTime time.Duration

	// heartbeat sweep
	tick     uint32
	interval time.Duration
	timer    int
	workers  []*workerman.Worker
	clients  map[*workerman.Connection]struct{}
}

func (e *engine) setDefaults() {
	if e.typ != OpBinary {
		e.typ = OpText
	}
	if e.maxHeader <= 0 {
		e.maxHeader = 16 << 10
	}
	if e.threshold <= 0 {
		e.threshold = 64
	}
	if e.level == 0 {
		e.level = flate.BestSpeed
		if e.takeover {
			// Go's BestSpeed compressor does not refer back to earlier
			// messages shorter than 128 bytes.
			e.level = 2
		}
	}
	e.interval = 0
	for _, d := range []time.Duration{e.pingEvery, e.idleTimeout, e.handshakeTime} {
		if d > 0 && (e.interval == 0 || d/4 < e.interval) {
			e.interval = max(d/4, 20*time.Millisecond)
		}
	}
}

func stateOf(c *workerman.Connection) *state {
	st, _ := c.ProtocolData.(*state)
	return st
}

var errNotWebSocket = errors.New("websocket: not a websocket connection")

// SetType sets the kind of frame that string and []byte sends use on c:
// BinaryTypeBlob (text, the default) or BinaryTypeArrayBuffer (binary).
// It is Workerman's $connection->websocketType.
func SetType(c *workerman.Connection, t Opcode) {
	if st := stateOf(c); st != nil && (t == OpText || t == OpBinary) {
		st.typ = t
	}
}

// Type returns the kind of frame that string and []byte sends use on c.
func Type(c *workerman.Connection) Opcode {
	if st := stateOf(c); st != nil {
		return st.typ
	}
	return 0
}

// MessageType returns the opcode (OpText or OpBinary) of the message being
// delivered to OnMessage, or of the last one delivered. Text messages arrive
// as string, binary messages as []byte.
func MessageType(c *workerman.Connection) Opcode {
	if st := stateOf(c); st != nil {
		return st.msgOp
	}
	return 0
}

// IsOpen reports whether c has completed the WebSocket handshake and has
// neither sent nor received a close frame.
func IsOpen(c *workerman.Connection) bool {
	st := stateOf(c)
	return st != nil && st.flags&(flagOpen|flagCloseSent|flagCloseRecv) == flagOpen && c.Status() == workerman.StatusEstablished
}

// Compressed reports whether permessage-deflate was negotiated on c.
func Compressed(c *workerman.Connection) bool {
	st := stateOf(c)
	return st != nil && st.flags&flagDeflate != 0
}

// CloseCode returns the status code of the close frame received from the
// peer: 0 when none arrived yet, CloseNoStatus when it carried none.
func CloseCode(c *workerman.Connection) int {
	if st := stateOf(c); st != nil {
		return int(st.closeCode)
	}
	return 0
}

// fail fails the WebSocket connection (RFC 6455 section 7.1.7): it sends a
// close frame with the status and closes the connection after it.
func (st *state) fail(c *workerman.Connection, code int, reason string) {
	slog.Debug("websocket: failing connection", "connection", c.ID, "remote", c.RemoteAddress(), "code", code, "reason", reason)
	if c.Status() != workerman.StatusEstablished {
		return
	}
	if st.flags&flagCloseSent != 0 || st.flags&flagOpen == 0 {
		c.Destroy()
		return
	}
	c.Send(CloseFrame{Code: code, Reason: reason})
}

// input finds the length of the next frame, checking every rule that its
// header alone decides so that bad frames fail before their payload arrives.
func (e *engine) input(buf []byte, c *workerman.Connection, st *state) (int, error) {
	h, ok, err := parseHeader(buf)
	if !ok {
		return 0, nil
	}
	if err != nil {
		st.fail(c, CloseProtocolError, err.Error())
		return 0, nil
	}
	if reason := st.checkHeader(&h); reason != "" {
		st.fail(c, CloseProtocolError, reason)
		return 0, nil
	}
	total := uint64(h.size) + h.length
	if total > uint64(c.MaxPackageSize) {
		st.fail(c, CloseMessageTooBig, "frame larger than "+fmt.Sprint(c.MaxPackageSize)+" bytes")
		return 0, nil
	}
	return int(total), nil
}

func (st *state) checkHeader(h *header) string {
	if h.rsv&(bitRsv2|bitRsv3) != 0 {
		return "reserved bits set"
	}
	if !h.op.isKnown() {
		return "reserved opcode " + fmt.Sprint(int(h.op))
	}
	if h.op.isControl() {
		switch {
		case !h.fin:
			return "fragmented control frame"
		case h.length > maxControlPayload:
			return "control frame payload over 125 bytes"
		case h.rsv != 0:
			return "reserved bit set on a control frame"
		}
	} else if h.op == OpContinuation {
		if st.fragOp == 0 {
			return "continuation frame without a message to continue"
		}
		if h.rsv != 0 {
			return "reserved bit set on a continuation frame"
		}
	} else {
		if st.fragOp != 0 {
			return "new data frame before the fragmented message ended"
		}
		if h.rsv != 0 && st.flags&flagDeflate == 0 {
			return "reserved bit set without a negotiated extension"
		}
	}
	client := st.flags&flagClient != 0
	if !client && !h.masked {
		return "client frame not masked"
	}
	if client && h.masked {
		return "server frame masked"
	}
	return ""
}

// decode handles one whole frame and returns a message when one completes.
func (e *engine) decode(pkg []byte, c *workerman.Connection, st *state) (any, error) {
	h, _, _ := parseHeader(pkg)
	payload := pkg[h.size:]
	st.partDone = 0
	if h.masked {
		maskBytes(uint32(h.key[0])|uint32(h.key[1])<<8|uint32(h.key[2])<<16|uint32(h.key[3])<<24, payload)
	}
	st.lastSeen = e.tick
	st.flags &^= flagPinged
	switch h.op {
	case OpPing:
		if st.flags&(flagCloseSent|flagCloseRecv) == 0 {
			c.Send(Pong(payload))
		}
		if e.onPing != nil {
			e.onPing(c, payload)
		}
		return nil, nil
	case OpPong:
		if e.onPong != nil {
			e.onPong(c, payload)
		}
		return nil, nil
	case OpClose:
		st.receiveClose(c, payload)
		return nil, nil
	}
	if st.flags&(flagCloseSent|flagCloseRecv) != 0 {
		return nil, nil // data after a close frame is discarded
	}
	limit := c.MaxPackageSize
	if h.op != OpContinuation {
		compressed := h.rsv&bitRsv1 != 0
		if h.fin {
			return st.message(c, h.op, payload, compressed, false, limit)
		}
		st.fragOp = h.op
		if compressed {
			st.flags |= flagFragDeflate
		}
		st.utf8.reset()
		st.frag = append(startFrag(len(payload)), payload...)
		if h.op == OpText && !compressed && !st.utf8.feed(payload, false) {
			st.fail(c, CloseInvalidPayload, "invalid UTF-8 in text message")
		}
		return nil, nil
	}
	if len(st.frag)+len(payload) > limit {
		st.fail(c, CloseMessageTooBig, "message larger than "+fmt.Sprint(limit)+" bytes")
		return nil, nil
	}
	if len(st.frag)+len(payload) > cap(st.frag) {
		st.frag = growFrag(st.frag, len(payload), limit)
	}
	st.frag = append(st.frag, payload...)
	compressed := st.flags&flagFragDeflate != 0
	if st.fragOp == OpText && !compressed && !st.utf8.feed(payload, h.fin) {
		st.fail(c, CloseInvalidPayload, "invalid UTF-8 in text message")
		return nil, nil
	}
	if !h.fin {
		return nil, nil
	}
	msg, op := st.frag, st.fragOp
	st.frag, st.fragOp = nil, 0
	st.flags &^= flagFragDeflate
	switch {
	case compressed:
		// Inflated into a new buffer: this one is free again.
		defer keepSpare(msg)
	case op == OpBinary:
		// Given to OnMessage, valid until it returns.
		keepSpareAfter(msg)
	}
	return st.message(c, op, msg, compressed, true, limit)
}

// message finishes a received message: inflates it, checks its text and
// returns it as a string (text) or []byte (binary). owned says data is a
// buffer nobody else refers to.
func (st *state) message(c *workerman.Connection, op Opcode, data []byte, compressed, owned bool, limit int) (any, error) {
	validated := owned && !compressed && op == OpText
	if compressed {
		out, err := st.dfl.decompress(data, limit)
		if err == errTooBig {
			st.fail(c, CloseMessageTooBig, "message inflates past "+fmt.Sprint(limit)+" bytes")
			return nil, nil
		}
		if err != nil {
			st.fail(c, CloseInvalidPayload, "bad compressed data: "+err.Error())
			return nil, nil
		}
		data, owned = out, true
	}
	st.msgOp = op
	if op == OpBinary {
		// Valid until OnMessage returns, without an allocation.
		return c.BytesMessage(data), nil
	}
	if !validated && !utf8.Valid(data) {
		st.fail(c, CloseInvalidPayload, "invalid UTF-8 in text message")
		return nil, nil
	}
	if owned {
		if len(data) == 0 {
			return "", nil
		}
		return unsafe.String(&data[0], len(data)), nil
	}
	return textMessage(data), nil
}

func (st *state) receiveClose(c *workerman.Connection, payload []byte) {
	code, reason := CloseNoStatus, ""
	switch {
	case len(payload) == 1:
		st.fail(c, CloseProtocolError, "close frame with a 1-byte payload")
		return
	case len(payload) >= 2:
		code = int(payload[0])<<8 | int(payload[1])
		if !validReceivedCloseCode(code) {
			st.fail(c, CloseProtocolError, "invalid close code "+fmt.Sprint(code))
			return
		}
		if !utf8.Valid(payload[2:]) {
			st.fail(c, CloseInvalidPayload, "invalid UTF-8 in close reason")
			return
		}
		reason = string(payload[2:])
	}
	first := st.flags&flagCloseRecv == 0
	st.flags |= flagCloseRecv
	st.closeCode = uint16(code)
	if first && st.e.onClose != nil {
		st.e.onClose(c, code, reason)
	}
	if st.flags&flagCloseSent != 0 {
		c.Close() // our close frame was answered
		return
	}
	reply := CloseFrame{}
	if code != CloseNoStatus {
		reply.Code = code
	}
	c.Send(reply)
}

// encode appends the frames for one Send.
func (e *engine) encode(dst []byte, data any, c *workerman.Connection, st *state) ([]byte, error) {
	var (
		op      Opcode
		payload []byte
		fin     = true
		raw     bool
	)
	switch v := data.(type) {
	case string:
		op, payload = st.typ, unsafe.Slice(unsafe.StringData(v), len(v))
	case []byte:
		op, payload = st.typ, v
	case Text:
		op, payload = OpText, unsafe.Slice(unsafe.StringData(string(v)), len(v))
	case Binary:
		op, payload = OpBinary, v
	case Ping:
		op, payload = OpPing, v
	case Pong:
		op, payload = OpPong, v
	case CloseFrame:
		op = OpClose
		if v.Code != 0 {
			if !validReceivedCloseCode(v.Code) {
				return dst, fmt.Errorf("websocket: close code %d may not be sent", v.Code)
			}
			if !utf8.ValidString(v.Reason) {
				return dst, errors.New("websocket: close reason is not valid UTF-8")
			}
			if len(v.Reason) > maxControlPayload-2 {
				return dst, errors.New("websocket: close reason longer than 123 bytes")
			}
			payload = append(make([]byte, 0, 2+len(v.Reason)), byte(v.Code>>8), byte(v.Code))
			payload = append(payload, v.Reason...)
		} else if v.Reason != "" {
			return dst, errors.New("websocket: close reason without a close code")
		}
	case Frame:
		op, payload, fin, raw = v.Opcode, v.Payload, v.Fin, true
		if !op.isKnown() {
			return dst, fmt.Errorf("websocket: cannot send frame with opcode %d", op)
		}
		if op.isControl() && !fin {
			return dst, errors.New("websocket: control frames cannot be fragmented")
		}
	case nil:
		return dst, errors.New("websocket: cannot send nil")
	default:
		return dst, fmt.Errorf("websocket: cannot send %T; give a string, []byte, Text, Binary, Ping, Pong, CloseFrame or Frame", data)
	}
	if op.isControl() && len(payload) > maxControlPayload {
		return dst, fmt.Errorf("websocket: %v payload of %d bytes is over 125", op, len(payload))
	}
	if op == OpText && !raw && !utf8.Valid(payload) {
		return dst, errors.New("websocket: text message is not valid UTF-8; send it as Binary")
	}
	if st.flags&flagCloseSent != 0 {
		return dst, errors.New("websocket: close frame already sent")
	}
	if st.flags&flagOpen == 0 {
		if op == OpClose {
			return dst, workerman.ErrCloseAfterSend
		}
		// Not open yet: keep the frames until the handshake completes.
		if st.hs == nil {
			st.hs = &handshake{}
		}
		st.hs.pending = e.appendFrames(st.hs.pending, st, op, payload, fin, raw)
		return dst, nil
	}
	if n := e.frameRoom(st, len(payload)); n >= bigFrame && cap(dst)-len(dst) < n {
		// Built in the connection's large buffer, which is queued as it
		// is if the kernel does not take it all (see bigFrame).
		dst = append(c.EncodeBuffer(len(dst)+n), dst...)
	}
	dst = e.appendFrames(dst, st, op, payload, fin, raw)
	if op == OpClose {
		st.flags |= flagCloseSent
		return dst, workerman.ErrCloseAfterSend
	}
	return dst, nil
}

// frameRoom is an upper bound of the bytes that appendFrames adds for a
// payload of n bytes: the headers of as many frames as MaxFrameSize makes,
// and what compressing data that does not compress can add.
func (e *engine) frameRoom(st *state, n int) int {
	frames := 1
	if e.maxFrame > 0 {
		frames += n / e.maxFrame
	}
	room := n + frames*maxHeaderLen
	if st.flags&flagDeflate != 0 {
		room += n>>10 + 64
	}
	return room
}

func (e *engine) appendFrames(dst []byte, st *state, op Opcode, payload []byte, fin, raw bool) []byte {
	client := st.flags&flagClient != 0
	b0 := byte(op)
	if !raw && !op.isControl() && st.flags&flagDeflate != 0 && len(payload) >= e.threshold {
		scratch := scratchPool.Get().(*[]byte)
		defer func() {
			if cap(*scratch) <= 1<<20 {
				scratchPool.Put(scratch)
			}
		}()
		*scratch = st.dfl.compress((*scratch)[:0], payload, e.level)
		payload = *scratch
		b0 |= bitRsv1
	}
	if fin {
		b0 |= bitFin
	}
	if raw || op.isControl() || e.maxFrame <= 0 || len(payload) <= e.maxFrame {
		return appendFrame(dst, b0, payload, client, maskKey(client))
	}
	// Fragment: the first frame keeps the opcode and RSV1, the others are
	// continuations.
	first := true
	for first || len(payload) > 0 {
		n := min(len(payload), e.maxFrame)
		b := b0 &^ bitFin
		if !first {
			b = 0
		}
		if n == len(payload) {
			b |= bitFin
		}
		dst = appendFrame(dst, b, payload[:n], client, maskKey(client))
		payload = payload[n:]
		first = false
	}
	return dst
}

// scratchPool holds buffers for compressed payloads on their way into a
// frame.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func maskKey(client bool) uint32 {
	if !client {
		return 0
	}
	return rand.Uint32()
}
