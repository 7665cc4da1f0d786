package http

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/workerman-go/workerman"
)

// Default limits and timeouts of a Protocol whose fields are zero.
const (
	DefaultMaxRequestLine    = 8 << 10
	DefaultMaxHeaderBytes    = 16 << 10
	DefaultMaxHeaderCount    = 100
	DefaultBodyMemoryLimit   = 1 << 20
	DefaultBodyMemoryTotal   = 64 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMinBodyRate       = 1 << 10
)

// Protocol is the HTTP/1.x server protocol. Its fields are limits and
// settings; the zero value uses the defaults. Default is registered under
// the scheme "http"; give a worker its own settings with
//
//	w := workerman.NewWorker("http://0.0.0.0:8080")
//	w.Protocol = &http.Protocol{MaxBodySize: 100 << 20}
//
// Change the fields before the worker starts; a Protocol is shared by all
// the connections that use it.
type Protocol struct {
	// MaxRequestLine bounds the request line; longer ones get 414.
	MaxRequestLine int
	// MaxHeaderBytes bounds the request head (request line and header
	// fields) and, separately, the trailer section of a chunked body;
	// larger ones get 431.
	MaxHeaderBytes int
	// MaxHeaderCount bounds the number of header fields; more get 431.
	MaxHeaderCount int
	// MaxBodySize bounds a request body; larger ones get 413. Zero means
	// the connection's MaxPackageSize (workerman.DefaultMaxPackageSize,
	// 10 MiB, unless changed).
	MaxBodySize int64
	// BodyMemoryLimit is the largest body kept in memory; larger bodies
	// (and chunked bodies once they pass it) are written to an unlinked
	// temporary file in TempDir as they arrive, so memory stays bounded.
	// A body whose Content-Length is over the limit goes to its file from
	// the first byte.
	BodyMemoryLimit int
	// BodyMemoryTotal bounds the memory that request bodies kept in
	// memory take in the process, across all its connections: a body
	// that would pass it goes to a temporary file like a large one. Zero
	// means DefaultBodyMemoryTotal (64 MiB). It is counted per process;
	// protocols that set different totals share one count. After a burst
	// of at least 16 MiB of such bodies, a second after the last is
	// released, the memory is given back to the system
	// (debug.FreeOSMemory: one garbage collection).
	BodyMemoryTotal int64
	// UploadMemoryLimit is how much of a multipart form is kept in memory
	// when it is parsed; larger uploaded files go to temporary files.
	// Zero means BodyMemoryLimit.
	UploadMemoryLimit int64
	// TempDir holds temporary files of large bodies and uploads; "" means
	// os.TempDir().
	TempDir string

	// ReadHeaderTimeout bounds the time from the first byte of a request
	// to the end of its head (slow-header clients get 408). It does not
	// cover the body.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the time a request body, small or large, may
	// make no progress (408). It is also the grace period of MinBodyRate.
	ReadTimeout time.Duration
	// MinBodyRate is the slowest average rate, in bytes per second, at
	// which a request body may arrive once it has taken longer than
	// ReadTimeout; a slower body gets 408, so a body trickled a byte at
	// a time cannot hold a connection for ever. Zero means
	// DefaultMinBodyRate (1 KiB/s); a negative value turns the check off.
	MinBodyRate int
	// WriteTimeout bounds the time queued response bytes may make no
	// progress (a client that does not read) before the connection is
	// dropped.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that sends nothing for
	// this long between requests.
	IdleTimeout time.Duration

	// ServerName is sent in the Server field; "" means "workerman", "-"
	// sends no Server field.
	ServerName string

	// Session configures Request.Session.
	Session SessionConfig
}

// Default is the protocol registered as "http".
var Default = &Protocol{}

func init() {
	if err := workerman.RegisterProtocol("http", Default); err != nil {
		panic(err)
	}
}

func (p *Protocol) maxRequestLine() int  { return orInt(p.MaxRequestLine, DefaultMaxRequestLine) }
func (p *Protocol) maxHeaderBytes() int  { return orInt(p.MaxHeaderBytes, DefaultMaxHeaderBytes) }
func (p *Protocol) maxHeaderCount() int  { return orInt(p.MaxHeaderCount, DefaultMaxHeaderCount) }
func (p *Protocol) bodyMemoryLimit() int { return orInt(p.BodyMemoryLimit, DefaultBodyMemoryLimit) }
func (p *Protocol) bodyMemoryTotal() int64 {
	if p.BodyMemoryTotal > 0 {
		return p.BodyMemoryTotal
	}
	return DefaultBodyMemoryTotal
}
func (p *Protocol) maxBody(c *workerman.Connection) int64 {
	if p.MaxBodySize > 0 {
		return p.MaxBodySize
	}
	return int64(c.MaxPackageSize)
}
func (p *Protocol) uploadMemoryLimit() int64 {
	if p.UploadMemoryLimit > 0 {
		return p.UploadMemoryLimit
	}
	return int64(p.bodyMemoryLimit())
}
func (p *Protocol) tempDir() string {
	if p.TempDir != "" {
		return p.TempDir
	}
	return os.TempDir()
}

func orInt(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

func orDur(v, d time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return d
}

// Phases of a connection's input.
const (
	phaseHead    = iota // waiting for (more of) a request head
	phaseBody           // streaming the body of st.req
	phaseDiscard        // refused: input is read and dropped until close
)

// Kinds of response in progress on a connection.
const (
	outNone    = iota
	outChunked // chunked body, ended by an empty Chunk
	outRaw     // body delimited by closing the connection (SSE, HTTP/1.0 streams)
	outFile    // file body being pumped
)

// connState is the per-connection state, kept in Connection.ProtocolData.
type connState struct {
	// delivered is when the request being answered was handed to
	// OnMessage, kept while metrics are collected (latency histogram).
	delivered time.Time
	p         *Protocol
	c         *workerman.Connection

	phase     uint8
	out       uint8
	paused    bool // receiving paused by the protocol until a response is done
	closing   bool
	draining  bool // the process is stopping: close after the response in progress
	sse       bool // the response in progress is a server-sent event stream
	ready     bool // a request with a streamed body is complete
	discarded int

	scan int // where the head scan resumes
	h    head

	// Blocks new Requests and their bytes are taken from (see
	// requestBlockMax).
	reqBlock   []Request
	reqBlockN  int
	byteBlock  []byte
	byteBlockN int

	// Streaming body of req.
	req       *Request
	remaining int64 // Content-Length bytes still to come
	streaming bool  // the body of the parsed head is streamed
	memHeld   int64 // body memory the request holds (bodyMemory)
	bodyBytes int64 // bytes of the streamed body received so far
	chunk     chunkedDecoder
	sink      *bodySink

	// cur is the request being answered (decoded, final response not yet
	// sent). While it is set, pipelined requests wait.
	cur       *Request
	outCloses bool // the response in progress closes the connection

	// Output held back while a session is saved by a store off the loop.
	holding   bool
	held      []byte
	heldClose bool
	heldPump  bool

	// File body being pumped.
	file       *os.File
	fileRemain int64
	fileOff    int64
	userDrain  func(*workerman.Connection)

	// bodyWait: the head has been parsed and its body (delivered with
	// it as one package) is still arriving; bodyGot is the size of the
	// receive buffer at the last sweep.
	bodyWait bool
	bodyGot  int

	// Timeouts, in sweep ticks.
	bodyStart   int64
	headStart   int64
	lastRead    int64
	lastActive  int64
	lastWritten int64
	writeStall  int64
	swept       bool
}

func (p *Protocol) state(c *workerman.Connection) *connState {
	if st, ok := c.ProtocolData.(*connState); ok && st.p == p && st.c == c {
		return st
	}
	st := &connState{p: p, c: c}
	st.lastActive = sweeper.tick
	c.ProtocolData = st
	sweeper.add(st)
	return st
}

// OnConnectionOpen prepares the state of a new connection.
func (p *Protocol) OnConnectionOpen(c *workerman.Connection) { p.state(c) }

// OnConnectionClose releases what a connection held: temporary files, an
// open file body, its place in the timeout sweep.
func (p *Protocol) OnConnectionClose(c *workerman.Connection) {
	st, ok := c.ProtocolData.(*connState)
	if !ok || st.p != p {
		return
	}
	st.release()
}

func (st *connState) release() {
	sweeper.remove(st)
	if st.req != nil {
		st.req.cleanup()
		st.req = nil
	}
	if st.cur != nil {
		st.cur.cancel()
		st.cur.cleanup()
		st.cur = nil
	}
	if st.sink != nil && st.sink.file != nil {
		st.sink.file.Close()
	}
	st.sink = nil
	st.releaseBodyMemory()
	st.reqBlock, st.byteBlock = nil, nil
	st.closeFile()
}

// Input implements workerman.Protocol: it returns the length of the next
// request (head plus body) once its head has been parsed, or of the next
// piece of a body that is streamed.
func (p *Protocol) Input(buf []byte, c *workerman.Connection) (int, error) {
	st := p.state(c)
	st.lastRead = sweeper.tick
	switch st.phase {
	case phaseDiscard:
		if len(buf) > c.MaxPackageSize {
			buf = buf[:c.MaxPackageSize]
		}
		st.discarded += len(buf)
		if st.discarded > lingerBytes {
			c.Close()
		}
		return len(buf), nil
	case phaseBody:
		return st.inputBody(buf)
	}
	if st.cur != nil || st.holding || st.out != outNone || st.closing {
		// A request is still being answered: the next one waits, so
		// responses leave in order.
		if st.closing {
			st.phase = phaseDiscard
			return min(len(buf), c.MaxPackageSize), nil
		}
		if !st.paused {
			st.paused = true
			c.PauseRecv()
		}
		return 0, nil
	}
	if st.scan == 0 {
		st.headStart = sweeper.tick
		s, serr := skipEmptyLines(buf)
		if serr != nil {
			return st.refuse(serr, len(buf))
		}
		if s < 0 {
			return 0, nil
		}
		st.h.start = s
		// Usually the whole head is there: parse it in one pass.
		done, serr := parseHeadOnePass(buf, &st.h, limits{p.maxRequestLine(), p.maxHeaderCount()}, p.maxHeaderBytes())
		if serr != nil {
			return st.refuse(serr, len(buf))
		}
		if done {
			return st.headParsed(buf, c)
		}
	}
	end, next, serr := findHeadEnd(buf, st.h.start, st.scan)
	if serr != nil {
		return st.refuse(serr, len(buf))
	}
	if end == 0 {
		st.scan = next
		if serr := st.headTooLarge(buf, len(buf)); serr != nil {
			return st.refuse(serr, len(buf))
		}
		return 0, nil
	}
	st.scan = 0
	if serr := st.headTooLarge(buf, end); serr != nil {
		return st.refuse(serr, len(buf))
	}
	st.h.end = end
	if serr := parseHead(buf, &st.h, limits{p.maxRequestLine(), p.maxHeaderCount()}); serr != nil {
		return st.refuse(serr, len(buf))
	}
	return st.headParsed(buf, c)
}

// headTooLarge checks the head that starts at st.h.start and has end
// bytes so far (or in all): a request line over MaxRequestLine gets 414,
// whatever the size of the head, and otherwise a head over MaxHeaderBytes
// gets 431.
func (st *connState) headTooLarge(buf []byte, end int) *StatusError {
	start, maxLine := st.h.start, st.p.maxRequestLine()
	w := buf[start:min(end, start+maxLine+1)]
	if bytes.IndexByte(w, '\r') < 0 && bytes.IndexByte(w, '\n') < 0 && end-start > maxLine {
		return &StatusError{414, "request line longer than the limit"}
	}
	if end-start > st.p.maxHeaderBytes() {
		return &StatusError{431, "request head larger than the limit"}
	}
	return nil
}

// headParsed returns the length of the package of the head just parsed
// (the head, or the head and its body).
func (st *connState) headParsed(buf []byte, c *workerman.Connection) (int, error) {
	p := st.p
	h := &st.h
	end := h.end
	max := p.maxBody(c)
	st.streaming = false
	switch {
	case h.chunked:
		st.streaming = true
		st.expectBody(buf, end)
		return end, nil
	case h.contentLength > 0:
		if h.contentLength > max {
			return st.refuse(&StatusError{413, "request body larger than the limit"}, len(buf))
		}
		st.expectBody(buf, end)
		// A body received with its head, as one package, is held in the
		// receive buffer and copied to the Request: it takes twice its
		// size from the process's total, or else is streamed.
		if st.streams(c) || !st.reserveBodyMemory(2*h.contentLength) {
			st.streaming = true
			return end, nil
		}
		st.bodyWait, st.bodyGot, st.bodyStart = true, len(buf), sweeper.tick
		return end + int(h.contentLength), nil
	}
	return end, nil
}

// streams reports whether the body of the parsed head is received in
// pieces (chunked, longer than streamAbove, or longer than the
// connection's MaxPackageSize) rather than as part of one package with
// the head. A streamed body is copied from the connection's read buffer
// to memory of its exact size, or to a file, as it arrives.
func (st *connState) streams(c *workerman.Connection) bool {
	h := &st.h
	return h.chunked || h.contentLength > streamAbove ||
		int64(h.end)+h.contentLength > int64(c.MaxPackageSize)
}

// streamAbove is the body size from which a body is streamed rather than
// received with its head, which would cost its size twice (the receive
// buffer, then the Request's copy).
const streamAbove = 64 << 10

// expectBody answers "Expect: 100-continue" when the body has not started
// to arrive.
func (st *connState) expectBody(buf []byte, end int) {
	if st.h.expectContinue && st.h.minor == 1 && len(buf) == end {
		st.c.SendRaw(continueLine)
	}
}

var continueLine = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// inputBody consumes the next piece of a streamed body.
func (st *connState) inputBody(buf []byte) (int, error) {
	// A piece is a package too: keep it within MaxPackageSize.
	if len(buf) > st.c.MaxPackageSize {
		buf = buf[:st.c.MaxPackageSize]
	}
	if st.h.chunked {
		n, done, err := st.chunk.feed(buf, st.sink, st.p.maxBody(st.c), st.p)
		if err != nil {
			var se *StatusError
			if errors.As(err, &se) {
				return st.refuse(se, len(buf))
			}
			return st.fail(err, len(buf))
		}
		st.bodyBytes += int64(n)
		if done {
			st.phase = phaseHead
			st.bodyDone()
		}
		if n == 0 {
			return 0, nil
		}
		return n, nil
	}
	n := int64(len(buf))
	if n > st.remaining {
		n = st.remaining
	}
	if err := st.sink.write(buf[:n]); err != nil {
		return st.fail(err, len(buf))
	}
	st.remaining -= n
	st.bodyBytes += n
	if st.remaining == 0 {
		st.phase = phaseHead
		st.bodyDone()
	}
	return int(n), nil
}

// bodyDone moves a request whose body has been received to cur; Decode
// delivers it.
func (st *connState) bodyDone() {
	r := st.req
	st.req = nil
	x := r.ext()
	x.streamed = true
	x.body = st.sink.mem
	x.bodyFile = st.sink.file
	x.bodySize = st.sink.size
	st.sink = nil
	st.cur = r
	st.ready = true
}

// fail closes the connection on a server-side failure (a temporary file
// that cannot be written).
func (st *connState) fail(err error, n int) (int, error) {
	slog.Error("http: cannot store request body", "err", err)
	return st.refuse(&StatusError{500, err.Error()}, n)
}

// refuse answers a refused request with its status and closes the
// connection once the answer is out. Input that follows is read and
// dropped for a moment, so the client sees the answer rather than a reset.
// It returns n, the bytes Input reports as consumed.
func (st *connState) refuse(e *StatusError, n int) (int, error) {
	slog.Debug("http: request refused", "remote", st.c.RemoteAddress(), "status", e.Code, "reason", e.Reason)
	st.phase = phaseDiscard
	st.closing = true
	st.discarded = 0
	if st.cur == nil && st.out == outNone && !st.holding {
		st.c.SendRaw(errorResponse(e.Code))
	}
	c := st.c
	workerman.Timer.Once(lingerTime, func() { c.Close() })
	if n > c.MaxPackageSize {
		n = c.MaxPackageSize
	}
	return n, nil
}

// lingerTime is how long a refused connection keeps reading (and dropping)
// input before it closes; lingerBytes bounds what it reads meanwhile.
const (
	lingerTime  = 300 * time.Millisecond
	lingerBytes = 1 << 20
)

// Decode implements workerman.Protocol: it returns the *Request once it is
// complete, and nil for the pieces of a streamed body.
func (p *Protocol) Decode(pkg []byte, c *workerman.Connection) (any, error) {
	st := p.state(c)
	if st.ready {
		st.ready = false
		return st.deliver(st.cur)
	}
	if st.phase != phaseHead {
		return nil, nil
	}
	st.bodyWait = false
	h := &st.h
	r := newRequest(st, pkg)
	if st.streaming {
		st.streaming = false
		st.req = r
		st.phase = phaseBody
		sink, err := st.newBodySink(h.contentLength)
		st.sink = sink
		if err != nil {
			st.fail(err, 0)
			return nil, nil
		}
		st.remaining = h.contentLength
		st.bodyBytes, st.bodyStart = 0, sweeper.tick
		st.chunk = chunkedDecoder{}
		return nil, nil
	}
	st.cur = r
	return st.deliver(r)
}
