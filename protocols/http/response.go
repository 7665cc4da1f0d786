package http

import (
	"errors"
	"fmt"
	nethttp "net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Cookie is a cookie to set with Response.WithCookie; it is net/http's
// Cookie, so every attribute (Path, Domain, Expires, MaxAge, Secure,
// HttpOnly, SameSite, Partitioned) is there.
type Cookie = nethttp.Cookie

// SameSite is net/http's SameSite cookie attribute.
type SameSite = nethttp.SameSite

// SameSite values of Cookie.SameSite.
const (
	SameSiteDefaultMode = nethttp.SameSiteDefaultMode
	SameSiteLaxMode     = nethttp.SameSiteLaxMode
	SameSiteStrictMode  = nethttp.SameSiteStrictMode
	SameSiteNoneMode    = nethttp.SameSiteNoneMode
)

// StatusText returns the reason phrase of an HTTP status code.
func StatusText(code int) string { return nethttp.StatusText(code) }

type field struct{ name, value string }

// Response is an HTTP response to send with Connection.Send, Workerman's
// Response class:
//
//	c.Send(http.NewResponse(200, map[string]string{"Content-Type": "application/json"}, `{"ok":true}`))
//	c.Send(http.NewResponse(404, nil, "not here").WithCookie(&http.Cookie{Name: "a", Value: "b"}))
//	c.Send(http.NewResponse(200, nil, "").WithFile("/srv/big.iso", 0, -1))
//
// Content-Length is always computed. A "Transfer-Encoding: chunked" header
// starts a chunked body continued with Chunk values; a "Content-Type:
// text/event-stream" header starts a server-sent event stream continued
// with ServerSentEvent values.
type Response struct {
	status  int
	reason  string
	fields  []field
	cookies []*Cookie
	body    []byte
	file    string
	fileF   *os.File
	fileOff int64
	fileLen int64
	hasFile bool
}

// NewResponse returns a response with a status (0 means 200), header
// fields and a body.
func NewResponse(status int, headers map[string]string, body string) *Response {
	r := &Response{status: status, body: []byte(body)}
	for k, v := range headers {
		r.fields = append(r.fields, field{k, v})
	}
	return r
}

// WithStatus sets the status code and, if reason is not "", the reason
// phrase.
func (r *Response) WithStatus(code int, reason string) *Response {
	r.status, r.reason = code, reason
	return r
}

// WithHeader sets a header field, replacing fields of the same name.
func (r *Response) WithHeader(name, value string) *Response {
	r.WithoutHeader(name)
	r.fields = append(r.fields, field{name, value})
	return r
}

// AddHeader adds a header field, keeping fields of the same name.
func (r *Response) AddHeader(name, value string) *Response {
	r.fields = append(r.fields, field{name, value})
	return r
}

// WithHeaders sets several header fields.
func (r *Response) WithHeaders(h map[string]string) *Response {
	for k, v := range h {
		r.WithHeader(k, v)
	}
	return r
}

// WithoutHeader removes the header fields called name.
func (r *Response) WithoutHeader(name string) *Response {
	out := r.fields[:0]
	for _, f := range r.fields {
		if !equalFoldString(f.name, name) {
			out = append(out, f)
		}
	}
	r.fields = out
	return r
}

// GetHeader returns the first header field called name, or "".
func (r *Response) GetHeader(name string) string {
	for _, f := range r.fields {
		if equalFoldString(f.name, name) {
			return f.value
		}
	}
	return ""
}

// StatusCode returns the status code.
func (r *Response) StatusCode() int {
	if r.status == 0 {
		return 200
	}
	return r.status
}

// WithBody sets the body.
func (r *Response) WithBody(b []byte) *Response {
	r.body, r.hasFile = b, false
	return r
}

// WithCookie adds a Set-Cookie field.
func (r *Response) WithCookie(c *Cookie) *Response {
	r.cookies = append(r.cookies, c)
	return r
}

// WithFile makes the body length bytes of the file at path from offset
// (length < 0 means to the end). Large files are sent piece by piece as
// the client reads them, never read whole into memory.
func (r *Response) WithFile(path string, offset, length int64) *Response {
	r.file, r.fileOff, r.fileLen, r.hasFile, r.body = path, offset, length, true, nil
	return r
}

// withOpenFile is WithFile for a file already open; the response owns f.
func (r *Response) withOpenFile(f *os.File, offset, length int64) *Response {
	r.fileF, r.fileOff, r.fileLen, r.hasFile, r.body = f, offset, length, true, nil
	return r
}

// Chunk is a piece of a chunked response body. Send a Response with a
// "Transfer-Encoding: chunked" header first, then Chunks; an empty Chunk
// ends the body.
//
//	c.Send(http.NewResponse(200, map[string]string{"Transfer-Encoding": "chunked"}, "first"))
//	c.Send(http.Chunk("second"))
//	c.Send(http.Chunk(""))
type Chunk []byte

// ServerSentEvent is one event of a text/event-stream response, Workerman's
// ServerSentEvents. Send a Response with "Content-Type: text/event-stream"
// first; the stream lasts until the connection closes.
type ServerSentEvent struct {
	// Event is the event type; "" means "message".
	Event string
	// Data is the payload; each line becomes a data: line.
	Data string
	// ID sets the client's last event id.
	ID string
	// Retry asks the client to wait this long before reconnecting; 0
	// leaves it unset.
	Retry time.Duration
	// Comment is sent as a comment line (a keep-alive ping).
	Comment string
}

func (e *ServerSentEvent) appendTo(dst []byte) []byte {
	if e.Comment != "" {
		for _, l := range strings.Split(e.Comment, "\n") {
			dst = append(append(append(dst, ": "...), l...), '\n')
		}
	}
	if e.Event != "" {
		dst = append(append(append(dst, "event: "...), oneLine(e.Event)...), '\n')
	}
	if e.ID != "" {
		dst = append(append(append(dst, "id: "...), oneLine(e.ID)...), '\n')
	}
	if e.Retry > 0 {
		dst = strconv.AppendInt(append(dst, "retry: "...), e.Retry.Milliseconds(), 10)
		dst = append(dst, '\n')
	}
	if e.Data != "" || (e.Event == "" && e.Comment == "" && e.ID == "") {
		d := strings.ReplaceAll(e.Data, "\r\n", "\n")
		for _, l := range strings.Split(d, "\n") {
			dst = append(append(append(dst, "data: "...), l...), '\n')
		}
	}
	return append(dst, '\n')
}

func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		return strings.NewReplacer("\r", "", "\n", "").Replace(s)
	}
	return s
}

// Errors of Encode.
var (
	// ErrNoRequest is returned when a response is sent on a connection with
	// no request waiting for one.
	ErrNoRequest = errors.New("http: no request is waiting for a response on this connection")
	// ErrNotStreaming is returned for a Chunk or ServerSentEvent sent
	// without a streaming response in progress.
	ErrNotStreaming = errors.New("http: no chunked or event-stream response in progress")
	// ErrBadHeader is returned for a header field name or value that would
	// break the response framing.
	ErrBadHeader = errors.New("http: invalid header field in response")
)

// dateCache holds the Date field and the head of a hello-world response
// built around it, refreshed every second by a ticker goroutine started on
// first use, so the hot path reads one pointer.
var (
	dateCache atomic.Pointer[dateHeads]
	dateOnce  sync.Once
)

// dateHeads is what dateCache holds.
type dateHeads struct {
	date []byte // "Mon, 02 Jan 2006 15:04:05 GMT"
	// ok200 is the head of a 200 text/html response with the default
	// Server field, up to the Content-Length value.
	ok200 []byte
}

const (
	ok200Start = "HTTP/1.1 200 OK\r\nServer: workerman\r\nDate: "
	ok200End   = "\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: "
)

func formatDate(t time.Time) *dateHeads {
	d := t.UTC().AppendFormat(make([]byte, 0, 29), nethttp.TimeFormat)
	h := make([]byte, 0, len(ok200Start)+len(d)+len(ok200End))
	h = append(append(append(h, ok200Start...), d...), ok200End...)
	return &dateHeads{date: d, ok200: h}
}

func currentDate() *dateHeads {
	dateOnce.Do(func() {
		dateCache.Store(formatDate(time.Now()))
		go func() {
			for {
				// Wake just after each second begins.
				now := time.Now()
				time.Sleep(now.Truncate(time.Second).Add(time.Second + time.Millisecond).Sub(now))
				dateCache.Store(formatDate(time.Now()))
			}
		}()
	})
	return dateCache.Load()
}

func appendDate(dst []byte) []byte { return append(dst, currentDate().date...) }

func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return true
}

func validFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if !fieldChar[s[i]] {
			return false
		}
	}
	return true
}

func (p *Protocol) appendServer(dst []byte) []byte {
	switch p.ServerName {
	case "":
		return append(dst, "Server: workerman\r\n"...)
	case "-":
		return dst
	}
	return append(append(append(dst, "Server: "...), p.ServerName...), "\r\n"...)
}

func appendStatusLine(dst []byte, code int, reason string) []byte {
	if code == 200 && reason == "" {
		return append(dst, "HTTP/1.1 200 OK\r\n"...)
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ' ')
	if reason == "" {
		reason = StatusText(code)
		if reason == "" {
			reason = "Status " + strconv.Itoa(code)
		}
	}
	dst = append(dst, oneLine(reason)...)
	return append(dst, "\r\n"...)
}

// errorResponse is the answer to a refused request.
func errorResponse(code int) []byte {
	body := strconv.Itoa(code) + " " + StatusText(code) + "\n"
	return []byte(fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, StatusText(code), len(body), body))
}

// bodyAllowed reports whether a status may carry a body.
func bodyAllowed(code int) bool {
	return code >= 200 && code != 204 && code != 304
}
