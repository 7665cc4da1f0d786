package http

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/counters"
)

// Encode implements workerman.Protocol. It accepts *Response, a string or
// []byte (a 200 text/html response, as in the manual's
// $connection->send('hello world')), Chunk and ServerSentEvent (or
// pointers to them). It returns workerman.ErrCloseAfterSend with the bytes
// when the connection must close after them: the client asked for it
// ("Connection: close", HTTP/1.0 without keep-alive), the response says
// "Connection: close", or its body ends with the connection.
func (p *Protocol) Encode(dst []byte, data any, c *workerman.Connection) ([]byte, error) {
	st := p.state(c)
	switch v := data.(type) {
	case string:
		return st.encodeBytes(dst, 200, v, nil)
	case []byte:
		return st.encodeBytes(dst, 200, "", v)
	case *Response:
		if v == nil {
			return dst, fmt.Errorf("http: cannot send a nil *Response")
		}
		return st.encodeResponse(dst, v)
	case Response:
		return st.encodeResponse(dst, &v)
	case Chunk:
		return st.encodeChunk(dst, v)
	case *ServerSentEvent:
		if v == nil {
			return dst, fmt.Errorf("http: cannot send a nil *ServerSentEvent")
		}
		return st.encodeEvent(dst, v)
	case ServerSentEvent:
		return st.encodeEvent(dst, &v)
	case nil:
		return st.encodeBytes(dst, 200, "", nil)
	}
	return dst, fmt.Errorf("http: cannot send %T; send a *http.Response, string or []byte", data)
}

// closeAfter reports whether the connection ends after answering r.
func (st *connState) closeAfter(r *Request) bool {
	return !r.KeepAlive() || st.closing || st.draining
}

// beginResponse returns the request a response answers.
func (st *connState) beginResponse() (*Request, error) {
	if st.out != outNone {
		return nil, ErrNoRequest
	}
	if st.cur == nil {
		return nil, ErrNoRequest
	}
	return st.cur, nil
}

// encodeBytes is the hot path: a complete response from a string or bytes.
func (st *connState) encodeBytes(dst []byte, code int, s string, b []byte) ([]byte, error) {
	r, err := st.beginResponse()
	if err != nil {
		return dst, err
	}
	if counters.On {
		counters.ObserveHTTP(code, st.delivered)
	}
	start := len(dst)
	n := len(s) + len(b)
	closing := st.closeAfter(r)
	if code == 200 && st.p.ServerName == "" {
		dst = append(dst, currentDate().ok200...)
	} else {
		dst = appendStatusLine(dst, code, "")
		dst = st.p.appendServer(dst)
		dst = append(dst, "Date: "...)
		dst = appendDate(dst)
		dst = append(dst, ok200End...)
	}
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, "\r\n"...)
	dst = st.appendConnection(dst, r, closing)
	dst = st.appendSessionCookie(dst, r)
	dst = append(dst, "\r\n"...)
	if !r.isHead() {
		dst = append(dst, s...)
		dst = append(dst, b...)
	}
	return st.finish(dst, start, r, closing)
}

func (st *connState) appendConnection(dst []byte, r *Request, closing bool) []byte {
	if closing {
		return append(dst, "Connection: close\r\n"...)
	}
	if r.h.minor == 0 {
		return append(dst, "Connection: keep-alive\r\n"...)
	}
	return dst
}

func (r *Request) isHead() bool {
	return r.h.methodEnd-r.h.start == 4 && string(r.raw[r.h.start:r.h.methodEnd]) == "HEAD"
}

func (st *connState) encodeResponse(dst []byte, resp *Response) ([]byte, error) {
	r, err := st.beginResponse()
	if err != nil {
		return dst, err
	}
	start := len(dst)
	code := resp.StatusCode()
	if code < 200 || code > 999 {
		return dst, fmt.Errorf("http: cannot send status %d as a final response", code)
	}
	if counters.On {
		counters.ObserveHTTP(code, st.delivered)
	}
	closing := st.closeAfter(r)
	chunked, sse, hasType := false, false, false
	for _, f := range resp.fields {
		if !validFieldName(f.name) || !validFieldValue(f.value) {
			return dst, fmt.Errorf("%w: %q", ErrBadHeader, f.name)
		}
		switch {
		case equalFoldString(f.name, "Connection"):
			forEachToken([]byte(f.value), func(t []byte) {
				if equalFold(t, "close") {
					closing = true
				}
			})
		case equalFoldString(f.name, "Transfer-Encoding"):
			chunked = true
		case equalFoldString(f.name, "Content-Type"):
			hasType = true
			ct := f.value
			if len(ct) >= 17 && equalFoldString(ct[:17], "text/event-stream") {
				sse = true
			}
		}
	}
	withBody := bodyAllowed(code) && !r.isHead()
	// A file body: open it and find its length.
	var f *os.File
	var flen int64
	if resp.hasFile && bodyAllowed(code) {
		f = resp.fileF
		if f == nil {
			f, err = os.Open(resp.file)
			if err != nil {
				return dst, err
			}
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return dst, err
		}
		flen = fi.Size() - resp.fileOff
		if resp.fileLen >= 0 && resp.fileLen < flen {
			flen = resp.fileLen
		}
		if flen < 0 || resp.fileOff < 0 {
			f.Close()
			return dst, fmt.Errorf("http: file range beyond %s", f.Name())
		}
		chunked, sse = false, false
	}
	dst = appendStatusLine(dst, code, resp.reason)
	dst = st.p.appendServer(dst)
	dst = append(dst, "Date: "...)
	dst = appendDate(dst)
	dst = append(dst, "\r\n"...)
	if !hasType && bodyAllowed(code) {
		dst = append(dst, "Content-Type: text/html;charset=utf-8\r\n"...)
	}
	for _, fl := range resp.fields {
		switch {
		case equalFoldString(fl.name, "Connection"), equalFoldString(fl.name, "Content-Length"),
			equalFoldString(fl.name, "Transfer-Encoding"), equalFoldString(fl.name, "Date"),
			(equalFoldString(fl.name, "Server") && st.p.ServerName != "-"):
			continue
		}
		dst = append(append(append(append(dst, fl.name...), ": "...), fl.value...), "\r\n"...)
	}
	for _, ck := range resp.cookies {
		if v := ck.String(); v != "" {
			dst = append(append(append(dst, "Set-Cookie: "...), v...), "\r\n"...)
		}
	}
	dst = st.appendSessionCookie(dst, r)
	switch {
	case f != nil:
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, flen, 10)
		dst = append(dst, "\r\n"...)
	case (chunked || sse) && withBody:
		if sse || r.h.minor == 0 {
			// The body ends when the connection closes.
			closing = true
		} else {
			dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
		}
	case code == 204 || code == 304:
	default:
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(resp.body)), 10)
		dst = append(dst, "\r\n"...)
	}
	dst = st.appendConnection(dst, r, closing)
	dst = append(dst, "\r\n"...)

	switch {
	case f != nil && !withBody:
		f.Close()
	case f != nil:
		if flen <= smallFile {
			// Small files go out with the head.
			n := len(dst)
			dst = growLen(dst, int(flen))
			if _, err := f.ReadAt(dst[n:], resp.fileOff); err != nil && err != io.EOF {
				f.Close()
				return dst[:start], err
			}
			f.Close()
			break
		}
		st.file, st.fileRemain, st.fileOff = f, flen, resp.fileOff
		st.out = outFile
		st.outCloses = closing
		st.startPump()
		return st.emit(dst, start, nil)
	case (chunked || sse) && withBody:
		if sse || r.h.minor == 0 {
			st.out = outRaw
			dst = append(dst, resp.body...)
		} else {
			st.out = outChunked
			dst = appendChunk(dst, resp.body)
		}
		st.outCloses = closing
		st.sse = sse
		return st.emit(dst, start, nil)
	case withBody:
		dst = append(dst, resp.body...)
	}
	return st.finish(dst, start, r, closing)
}

// smallFile is the largest file body read with the head in one piece.
const smallFile = 64 << 10

func growLen(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

func appendChunk(dst, data []byte) []byte {
	if len(data) == 0 {
		return dst
	}
	dst = strconv.AppendInt(dst, int64(len(data)), 16)
	dst = append(dst, "\r\n"...)
	dst = append(dst, data...)
	return append(dst, "\r\n"...)
}

func (st *connState) encodeChunk(dst []byte, data Chunk) ([]byte, error) {
	start := len(dst)
	switch st.out {
	case outChunked:
		if len(data) == 0 {
			dst = append(dst, "0\r\n\r\n"...)
			st.out = outNone
			return st.finish(dst, start, st.cur, st.outCloses)
		}
		return st.emit(appendChunk(dst, data), start, nil)
	case outRaw:
		if len(data) == 0 {
			st.out = outNone
			return st.finish(dst, start, st.cur, true)
		}
		return st.emit(append(dst, data...), start, nil)
	}
	return dst, ErrNotStreaming
}

func (st *connState) encodeEvent(dst []byte, e *ServerSentEvent) ([]byte, error) {
	start := len(dst)
	switch st.out {
	case outRaw:
		return st.emit(e.appendTo(dst), start, nil)
	case outChunked:
		b := e.appendTo(nil)
		return st.emit(appendChunk(dst, b), start, nil)
	}
	return dst, ErrNotStreaming
}

// finish completes the answer to r: dst[start:] holds its last bytes.
func (st *connState) finish(dst []byte, start int, r *Request, closing bool) ([]byte, error) {
	if r != nil && r.x != nil && r.x.session != nil {
		if hold := st.saveSession(r); hold {
			st.holding = true
		}
	}
	st.cur = nil
	st.sse = false
	st.lastActive = sweeper.tick
	st.releaseBodyMemory()
	if st.draining {
		closing = true
	}
	if r != nil {
		r.cancel()
		r.cleanup()
	}
	if closing {
		st.closing = true
	}
	var after error
	if closing {
		after = workerman.ErrCloseAfterSend
	}
	if !closing && !st.holding && st.paused {
		st.paused = false
		st.c.ResumeRecv()
	}
	return st.emit(dst, start, after)
}

// emit hands encoded bytes to the connection, or keeps them while a
// session save holds the output back.
func (st *connState) emit(dst []byte, start int, after error) ([]byte, error) {
	if !st.holding {
		return dst, after
	}
	st.held = append(st.held, dst[start:]...)
	if after == workerman.ErrCloseAfterSend {
		st.heldClose = true
	}
	return dst[:start], nil
}

// release sends the held output once a session save has finished.
func (st *connState) releaseHeld() {
	st.holding = false
	c := st.c
	if c.Status() != workerman.StatusEstablished {
		return
	}
	held := st.held
	st.held = nil
	c.SendRaw(held)
	if st.heldPump {
		st.heldPump = false
		st.pump()
	}
	if st.heldClose {
		c.Close()
		return
	}
	if st.out == outNone && st.paused {
		st.paused = false
		c.ResumeRecv()
	}
}
