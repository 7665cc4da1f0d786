package http

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	nethttp "net/http"
	"net/url"
	"os"
	"strings"
	"unsafe"

	"github.com/workerman-go/workerman"
)

// Request is one HTTP request, the message OnMessage receives on an http
// worker:
//
//	w.OnMessage = func(c *workerman.Connection, data any) {
//		req := data.(*http.Request)
//		c.Send("hello " + req.Get("name"))
//	}
//
// A Request owns a copy of its bytes, so it stays valid after OnMessage
// returns and may be answered later (after a database call made with
// workerman.Async, say). Temporary files of a large body or of uploads are
// removed once the response has been sent. Requests of one connection are
// allocated together, a few KiB at a time, so a Request kept long after
// its response also keeps that memory. Methods are safe to call from one
// goroutine at a time.
type Request struct {
	st  *connState // st.c is the connection
	raw []byte     // head, and body when it arrived in one piece
	h   head

	x *requestExt // state most requests never need
}

// Requests and their bytes are carved out of per-connection blocks: a
// block of Requests (1, 2, 4 … up to requestBlockFull as a connection
// keeps sending) and a block of bytes (up to byteBlockMax), so a busy
// keep-alive or pipelined connection costs a fraction of an allocation
// per request. A Request the application keeps holds its blocks in
// memory (a few KiB at most); nothing in a block is ever reused.
const (
	requestBlockMax = 32
	// requestBlockFull is how many Requests fit in the size class of
	// requestBlockMax of them (4864 bytes) while a Request is at most
	// 152 bytes.
	requestBlockFull = max(requestBlockMax, 4864/int(unsafe.Sizeof(Request{})))
	byteBlockMin     = 256
	byteBlockMax     = 4 << 10
	// ownBytes is the size from which a request's bytes get their own
	// allocation rather than a place in the connection's block.
	ownBytes = 1 << 10
)

// requestExt holds the parsed forms, cookies, session and context of a
// request, allocated when first needed.
type requestExt struct {
	// A body received apart from the head (streamed): in memory or in
	// a temporary file.
	streamed bool
	body     []byte
	bodyFile *os.File
	bodySize int64

	query   url.Values
	post    url.Values
	form    *multipart.Form
	files   map[string][]*UploadedFile
	formErr error
	parsed  bool
	cookies []*nethttp.Cookie
	cookieP bool
	header  nethttp.Header
	session *Session
	ctx     context.Context
	cancelF context.CancelFunc
}

func (r *Request) ext() *requestExt {
	if r.x == nil {
		r.x = &requestExt{}
	}
	return r.x
}

func newRequest(st *connState, pkg []byte) *Request {
	if len(st.reqBlock) == 0 {
		st.reqBlockN = min(max(2*st.reqBlockN, 1), requestBlockMax)
		if st.reqBlockN == requestBlockMax {
			// Fill the allocation's size class.
			st.reqBlockN = requestBlockFull
		}
		st.reqBlock = make([]Request, st.reqBlockN)
	}
	r := &st.reqBlock[0]
	st.reqBlock = st.reqBlock[1:]
	r.st, r.h = st, st.h
	r.raw = st.copyBytes(pkg)
	return r
}

// bodyParts returns where the body is: in memory, or in a file of size
// bytes.
func (r *Request) bodyParts() (mem []byte, f *os.File, size int64) {
	if r.x != nil && r.x.streamed {
		return r.x.body, r.x.bodyFile, r.x.bodySize
	}
	mem = r.raw[r.h.end:]
	return mem, nil, int64(len(mem))
}

// copyBytes returns a copy of b that nothing else will write to, taken
// from the connection's byte block when b is small.
func (st *connState) copyBytes(b []byte) []byte {
	n := len(b)
	if n >= ownBytes {
		return append([]byte(nil), b...)
	}
	if cap(st.byteBlock)-len(st.byteBlock) < n {
		st.byteBlockN = min(max(2*st.byteBlockN, byteBlockMin), byteBlockMax)
		st.byteBlock = make([]byte, 0, max(st.byteBlockN, n))
	}
	k := len(st.byteBlock)
	st.byteBlock = append(st.byteBlock, b...)
	return st.byteBlock[k : k+n : k+n]
}

// str returns a string over the request's own immutable bytes.
func (r *Request) str(a, b int) string {
	if a >= b {
		return ""
	}
	return unsafe.String(&r.raw[a], b-a)
}

// Method returns the request method, such as "GET".
func (r *Request) Method() string {
	m := r.raw[r.h.start:r.h.methodEnd]
	switch string(m) {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "HEAD":
		return "HEAD"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	}
	return r.str(r.h.start, r.h.methodEnd)
}

// URI returns the request target as sent, such as "/a/b?x=1".
func (r *Request) URI() string { return r.str(r.h.targetStart, r.h.targetEnd) }

// pathEnd returns the offsets of the path within the target.
func (r *Request) pathRange() (int, int) {
	a, b := r.h.targetStart, r.h.targetEnd
	t := r.raw[a:b]
	if hasSchemePrefix(t) {
		// absolute-form: skip scheme and authority.
		i := bytes.Index(t, []byte("://")) + 3
		j := bytes.IndexAny(t[i:], "/?")
		if j < 0 {
			return b, b
		}
		a += i + j
		t = r.raw[a:b]
	}
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		return a, a + q
	}
	return a, b
}

// Path returns the path of the request target without the query, as sent
// (not unescaped), "/" at least for an absolute path.
func (r *Request) Path() string {
	a, b := r.pathRange()
	if a == b {
		return "/"
	}
	return r.str(a, b)
}

// QueryString returns the part of the target after "?".
func (r *Request) QueryString() string {
	t := r.raw[r.h.targetStart:r.h.targetEnd]
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		return r.str(r.h.targetStart+q+1, r.h.targetEnd)
	}
	return ""
}

// Query returns the parsed query, Workerman's $request->get().
func (r *Request) Query() url.Values {
	if r.ext().query == nil {
		r.ext().query, _ = url.ParseQuery(r.QueryString())
		if r.ext().query == nil {
			r.ext().query = url.Values{}
		}
	}
	return r.ext().query
}

// Get returns the first query parameter called name, or "".
func (r *Request) Get(name string) string { return r.Query().Get(name) }

// ProtocolVersion returns "1.1" or "1.0".
func (r *Request) ProtocolVersion() string {
	if r.h.minor == 0 {
		return "1.0"
	}
	return "1.1"
}

// KeepAlive reports whether the client asked to keep the connection open
// after this request: HTTP/1.1 unless "Connection: close", HTTP/1.0 only
// with "Connection: keep-alive".
func (r *Request) KeepAlive() bool {
	if r.h.minor == 0 {
		return r.h.connKeepAlive && !r.h.connClose
	}
	return !r.h.connClose
}

// forEachHeader calls f for each header field until it returns false.
func (r *Request) forEachHeader(f func(name []byte, vs, ve int) bool) {
	i := r.h.start + bytes.IndexByte(r.raw[r.h.start:r.h.end], '\n') + 1
	end := r.h.end - 2
	for i < end {
		le := i + bytes.IndexByte(r.raw[i:end+2], '\r')
		c := i + bytes.IndexByte(r.raw[i:le], ':')
		vs := c + 1
		for vs < le && (r.raw[vs] == ' ' || r.raw[vs] == '\t') {
			vs++
		}
		ve := le
		for ve > vs && (r.raw[ve-1] == ' ' || r.raw[ve-1] == '\t') {
			ve--
		}
		if !f(r.raw[i:c], vs, ve) {
			return
		}
		i = le + 2
	}
}

// Header returns the value of the first header field called name (case
// does not matter), or "".
func (r *Request) Header(name string) string {
	var v string
	r.forEachHeader(func(n []byte, vs, ve int) bool {
		if equalFoldString(string(n), name) {
			v = r.str(vs, ve)
			return false
		}
		return true
	})
	return v
}

// HeaderValues returns the values of every header field called name.
func (r *Request) HeaderValues(name string) []string {
	var vs []string
	r.forEachHeader(func(n []byte, a, b int) bool {
		if equalFoldString(string(n), name) {
			vs = append(vs, r.str(a, b))
		}
		return true
	})
	return vs
}

// Headers returns all header fields, keyed by canonical name.
func (r *Request) Headers() nethttp.Header {
	if r.ext().header == nil {
		r.ext().header = nethttp.Header{}
		r.forEachHeader(func(n []byte, a, b int) bool {
			k := nethttp.CanonicalHeaderKey(string(n))
			r.ext().header[k] = append(r.ext().header[k], r.str(a, b))
			return true
		})
	}
	return r.ext().header
}

// Host returns the host of the request (with its port, if any): the
// authority of an absolute-form target ("GET http://a.example/x"), which
// replaces the Host field (RFC 9112 section 3.2.2), or else the Host field.
func (r *Request) Host() string {
	t := r.raw[r.h.targetStart:r.h.targetEnd]
	if hasSchemePrefix(t) {
		i := r.h.targetStart + bytes.Index(t, []byte("://")) + 3
		return r.str(i, i+len(targetAuthority(t)))
	}
	return r.Header("Host")
}

// HostName returns the host without port, lower-cased.
func (r *Request) HostName() string {
	h := r.Host()
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return strings.ToLower(h[1:i])
		}
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	return strings.ToLower(h)
}

// ContentType returns the Content-Type field without parameters,
// lower-cased.
func (r *Request) ContentType() string {
	ct := r.Header("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// Cookie returns the value of the cookie called name, or "".
func (r *Request) Cookie(name string) string {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// Cookies returns the cookies the client sent.
func (r *Request) Cookies() []*Cookie {
	if !r.ext().cookieP {
		r.ext().cookieP = true
		for _, line := range r.HeaderValues("Cookie") {
			cs, _ := nethttp.ParseCookie(line)
			r.ext().cookies = append(r.ext().cookies, cs...)
		}
	}
	return r.ext().cookies
}

// RawHead returns the request line and header fields as received.
func (r *Request) RawHead() []byte { return r.raw[r.h.start:r.h.end] }

// ContentLength returns the size of the body in bytes.
func (r *Request) ContentLength() int64 {
	_, _, n := r.bodyParts()
	return n
}

// RawBody returns the whole body, Workerman's $request->rawBody(). A body
// that was streamed to a temporary file is read into memory; use
// BodyReader for large bodies.
func (r *Request) RawBody() []byte {
	mem, f, size := r.bodyParts()
	if f == nil {
		return mem
	}
	b := make([]byte, size)
	n, _ := f.ReadAt(b, 0)
	return b[:n]
}

// BodyReader returns a reader of the body, wherever it is kept.
func (r *Request) BodyReader() io.ReadCloser { return bodyReader(r.bodyParts()) }

// Connection returns the connection the request arrived on.
func (r *Request) Connection() *workerman.Connection { return r.st.c }

// RemoteIP returns the client's IP address.
func (r *Request) RemoteIP() string { return r.st.c.RemoteIP() }

// RemotePort returns the client's port.
func (r *Request) RemotePort() int { return r.st.c.RemotePort() }

// RemoteAddress returns the client's "ip:port".
func (r *Request) RemoteAddress() string { return r.st.c.RemoteAddress() }

// Context returns a context that is cancelled when the connection closes
// before the request is answered.
func (r *Request) Context() context.Context {
	if r.ext().ctx == nil {
		r.ext().ctx, r.ext().cancelF = context.WithCancel(context.Background())
	}
	return r.ext().ctx
}

func (r *Request) cancel() {
	if r.x != nil && r.x.cancelF != nil {
		r.x.cancelF()
	}
}

// cleanup removes the temporary files of the request.
func (r *Request) cleanup() {
	if r.x != nil && r.x.bodyFile != nil {
		r.x.bodyFile.Close()
		r.x.bodyFile = nil
	}
	if r.x != nil && r.x.form != nil {
		r.x.form.RemoveAll()
	}
}
