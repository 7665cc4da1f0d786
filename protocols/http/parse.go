package http

import (
	"bytes"
	"encoding/binary"
	"strconv"
)

// StatusError is the error Input returns for a request it refuses: the
// connection is answered with Code and closed.
type StatusError struct {
	// Code is the HTTP status sent to the client (400, 408, 413, 414, 417,
	// 431, 501, 505).
	Code int
	// Reason explains the refusal; it is logged, not sent.
	Reason string
}

// Error implements error.
func (e *StatusError) Error() string {
	return "http: " + strconv.Itoa(e.Code) + " " + StatusText(e.Code) + ": " + e.Reason
}

func badRequest(reason string) *StatusError { return &StatusError{400, reason} }

// head is a parsed request head, as offsets into the package that starts
// with it.
type head struct {
	start       int // leading empty lines skipped
	end         int // length of the head including the final CRLF CRLF
	methodEnd   int
	targetStart int
	targetEnd   int

	contentLength  int64 // -1 when absent
	minor          byte  // HTTP/1.minor
	chunked        bool
	connClose      bool
	connKeepAlive  bool
	connUpgrade    bool
	expectContinue bool
}

// tchar reports the token characters of RFC 9110.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return
}()

// fieldChar reports the bytes allowed in a field value (HTAB, visible ASCII,
// space and obs-text).
var fieldChar = func() (t [256]bool) {
	t['\t'] = true
	for c := 0x20; c < 256; c++ {
		t[c] = c != 0x7f
	}
	return
}()

// lower folds an ASCII letter to lower case.
func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// equalFold compares b to the lower-case ASCII string s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

func equalFoldString(a, s string) bool {
	if len(a) != len(s) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

// maxLeadingEmptyLines bounds the empty lines accepted before a request
// line (RFC 9112 section 2.2 asks servers to ignore at least one).
const maxLeadingEmptyLines = 4

// skipEmptyLines returns the offset of the request line, -1 when more bytes
// are needed, or an error.
func skipEmptyLines(buf []byte) (int, *StatusError) {
	i := 0
	for n := 0; ; n++ {
		if i >= len(buf) {
			return -1, nil
		}
		if buf[i] != '\r' && buf[i] != '\n' {
			return i, nil
		}
		if buf[i] == '\n' {
			return 0, badRequest("bare LF")
		}
		if i+1 >= len(buf) {
			return -1, nil
		}
		if buf[i+1] != '\n' {
			return 0, badRequest("bare CR")
		}
		if n >= maxLeadingEmptyLines {
			return 0, badRequest("too many empty lines before the request line")
		}
		i += 2
	}
}

// findHeadEnd scans buf from pos for the CRLF CRLF that ends the head that
// starts at start. It returns the head's end (0 if not found yet) and the
// position to resume from. A line feed without a carriage return before it
// is refused.
func findHeadEnd(buf []byte, start, pos int) (end, next int, err *StatusError) {
	if pos < start {
		pos = start
	}
	for {
		i := bytes.IndexByte(buf[pos:], '\n')
		if i < 0 {
			return 0, len(buf), nil
		}
		j := pos + i
		if j == start || buf[j-1] != '\r' {
			return 0, 0, badRequest("bare LF in request head")
		}
		if j-start >= 3 && buf[j-2] == '\n' {
			return j + 1, j + 1, nil
		}
		pos = j + 1
	}
}

// limits bound what parseHead accepts.
type limits struct {
	maxRequestLine int
	maxHeaderCount int
}

// parseHead validates the head buf[h.start:h.end] and fills h. It refuses
// anything ambiguous: obs-fold, whitespace before a colon, control
// characters, conflicting lengths, Transfer-Encoding together with
// Content-Length, unknown transfer codings.
func parseHead(buf []byte, h *head, lim limits) *StatusError {
	p := h.start
	end := h.end
	lineEnd := p + bytes.IndexByte(buf[p:end], '\r')
	if buf[lineEnd+1] != '\n' {
		return badRequest("bare CR in request line")
	}
	if err := parseRequestLine(buf, h, lineEnd, lim); err != nil {
		return err
	}
	var fs fieldState
	i := lineEnd + 2
	for i < end-2 {
		le := i + bytes.IndexByte(buf[i:end], '\r')
		if buf[i] == ' ' || buf[i] == '\t' {
			return badRequest("obsolete line folding")
		}
		fs.count++
		if fs.count > lim.maxHeaderCount {
			return &StatusError{431, "too many header fields"}
		}
		ns := i
		for i < le && tchar[buf[i]] {
			i++
		}
		if i == ns || i >= le || buf[i] != ':' {
			return badRequest("malformed header field name")
		}
		name := buf[ns:i]
		i++
		for i < le && (buf[i] == ' ' || buf[i] == '\t') {
			i++
		}
		vs := i
		for ; i < le; i++ {
			if !fieldChar[buf[i]] {
				return badRequest("control character in header field value")
			}
		}
		ve := le
		for ve > vs && (buf[ve-1] == ' ' || buf[ve-1] == '\t') {
			ve--
		}
		if buf[le+1] != '\n' {
			return badRequest("bare CR in request head")
		}
		if err := h.field(name, buf[vs:ve], &fs); err != nil {
			return err
		}
		i = le + 2
	}
	return h.finish(&fs)
}

// parseHeadOnePass parses the head that starts at h.start in one pass over
// buf, without knowing where it ends, and sets h.end. It returns false
// (and no error) when buf does not hold the whole head within maxBytes;
// the caller then looks for the end incrementally (findHeadEnd) and
// parses it with parseHead, which accepts and refuses exactly the same
// heads.
func parseHeadOnePass(buf []byte, h *head, lim limits, maxBytes int) (bool, *StatusError) {
	p := h.start
	limit := len(buf)
	if limit-p > maxBytes {
		limit = p + maxBytes
	}
	buf = buf[:limit]
	k := bytes.IndexByte(buf[p:], '\r')
	if k < 0 || p+k+1 >= limit {
		return false, nil
	}
	lineEnd := p + k
	if buf[lineEnd+1] != '\n' {
		return false, badRequest("bare CR in request line")
	}
	if err := parseRequestLine(buf, h, lineEnd, lim); err != nil {
		return false, err
	}
	var fs fieldState
	i := lineEnd + 2
	for {
		if i+1 >= limit {
			return false, nil
		}
		if buf[i] == '\r' {
			if buf[i+1] != '\n' {
				return false, badRequest("bare CR in request head")
			}
			h.end = i + 2
			break
		}
		if buf[i] == ' ' || buf[i] == '\t' {
			return false, badRequest("obsolete line folding")
		}
		fs.count++
		if fs.count > lim.maxHeaderCount {
			return false, &StatusError{431, "too many header fields"}
		}
		ns := i
		for i < limit && tchar[buf[i]] {
			i++
		}
		if i >= limit {
			return false, nil
		}
		if i == ns || buf[i] != ':' {
			return false, badRequest("malformed header field name")
		}
		name := buf[ns:i]
		i++
		for i < limit && (buf[i] == ' ' || buf[i] == '\t') {
			i++
		}
		vs := i
		i = skipFieldChars(buf, i)
		if i+1 >= limit {
			return false, nil
		}
		if buf[i] != '\r' {
			return false, badRequest("control character in header field value")
		}
		if buf[i+1] != '\n' {
			return false, badRequest("bare CR in request head")
		}
		ve := i
		for ve > vs && (buf[ve-1] == ' ' || buf[ve-1] == '\t') {
			ve--
		}
		if err := h.field(name, buf[vs:ve], &fs); err != nil {
			return false, err
		}
		i += 2
	}
	return true, h.finish(&fs)
}

// skipFieldChars returns the index of the first byte from i on that may
// not appear in a field value (len(b) if there is none). It looks at eight
// bytes at a time while none of them is a control character.
func skipFieldChars(b []byte, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		// A byte below 0x20, or equal to 0x7f, sets its high bit in
		// one of the two terms.
		y := x ^ 0x7f7f7f7f7f7f7f7f
		if ((x-0x20*ones)&^x|(y-ones)&^y)&highs != 0 {
			break
		}
		i += 8
	}
	for i < len(b) && fieldChar[b[i]] {
		i++
	}
	return i
}

// parseRequestLine parses the request line buf[h.start:lineEnd].
func parseRequestLine(buf []byte, h *head, lineEnd int, lim limits) *StatusError {
	p := h.start
	if lineEnd-p > lim.maxRequestLine {
		return &StatusError{414, "request line longer than the limit"}
	}
	i := p
	for i < lineEnd && tchar[buf[i]] {
		i++
	}
	if i == p || i >= lineEnd || buf[i] != ' ' {
		return badRequest("malformed method")
	}
	h.methodEnd = i
	i++
	h.targetStart = i
	for i < lineEnd && buf[i] > ' ' && buf[i] != 0x7f {
		i++
	}
	if i == h.targetStart || i >= lineEnd || buf[i] != ' ' {
		return badRequest("malformed request target")
	}
	h.targetEnd = i
	i++
	v := buf[i:lineEnd]
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' || v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9' {
		return badRequest("malformed HTTP version")
	}
	if v[5] != '1' {
		return &StatusError{505, "unsupported HTTP version " + string(v)}
	}
	// A higher minor version is answered as the highest this server
	// speaks, 1.1 (RFC 9110 section 2.5).
	h.minor = min(v[7]-'0', 1)
	t := buf[h.targetStart:h.targetEnd]
	switch {
	case t[0] == '/':
	case t[0] == '*' && len(t) == 1:
		if !equalFold(buf[p:h.methodEnd], "options") {
			return badRequest("asterisk target with a method other than OPTIONS")
		}
	case hasSchemePrefix(t):
		// absolute-form: its authority is the request's host (RFC 9112
		// section 3.2.2). An http URI needs a host and carries no
		// userinfo.
		a := targetAuthority(t)
		if len(a) == 0 || a[0] == ':' || !validHost(a) {
			return badRequest("malformed authority in absolute-form target")
		}
	default:
		if !equalFold(buf[p:h.methodEnd], "connect") {
			return badRequest("request target is not an absolute path or URL")
		}
	}
	h.contentLength = -1
	h.chunked, h.connClose, h.connKeepAlive, h.connUpgrade, h.expectContinue = false, false, false, false, false
	return nil
}

// fieldState is what parsing a head counts across its fields.
type fieldState struct {
	count, hosts int
	teSeen       bool
}

// field folds one header field into h.
func (h *head) field(name, val []byte, fs *fieldState) *StatusError {
	switch len(name) {
	case 4:
		if equalFold(name, "host") {
			fs.hosts++
			if !validHost(val) {
				return badRequest("malformed Host field")
			}
		}
	case 6:
		if equalFold(name, "expect") {
			if !equalFold(val, "100-continue") {
				return &StatusError{417, "unsupported expectation"}
			}
			h.expectContinue = true
		}
	case 10:
		if equalFold(name, "connection") {
			for len(val) > 0 {
				var tok []byte
				tok, val = nextToken(val)
				switch {
				case equalFold(tok, "close"):
					h.connClose = true
				case equalFold(tok, "keep-alive"):
					h.connKeepAlive = true
				case equalFold(tok, "upgrade"):
					h.connUpgrade = true
				}
			}
		}
	case 14:
		if equalFold(name, "content-length") {
			n, ok := parseLength(val)
			if !ok {
				return badRequest("malformed Content-Length")
			}
			if h.contentLength >= 0 && h.contentLength != n {
				return badRequest("conflicting Content-Length fields")
			}
			h.contentLength = n
		}
	case 17:
		if equalFold(name, "transfer-encoding") {
			if err := parseTE(val, h, &fs.teSeen); err != nil {
				return err
			}
		}
	}
	return nil
}

// finish checks what needs the whole head.
func (h *head) finish(fs *fieldState) *StatusError {
	if fs.teSeen {
		if h.contentLength >= 0 {
			return badRequest("both Transfer-Encoding and Content-Length")
		}
		if h.minor == 0 {
			return badRequest("Transfer-Encoding in an HTTP/1.0 request")
		}
		if !h.chunked {
			return badRequest("Transfer-Encoding without chunked as the final coding")
		}
	}
	if fs.hosts > 1 || (h.minor == 1 && fs.hosts == 0) {
		return badRequest("a request must carry exactly one Host field")
	}
	return nil
}

// targetAuthority returns the authority of an absolute-form target.
func targetAuthority(t []byte) []byte {
	i := bytes.Index(t, []byte("://")) + 3
	j := bytes.IndexAny(t[i:], "/?")
	if j < 0 {
		return t[i:]
	}
	return t[i : i+j]
}

// hostChar reports the bytes of a reg-name (RFC 3986: unreserved,
// sub-delims and the "%" of pct-encoded).
var hostChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "-._~!$&'()*+,;=%" {
		t[c] = true
	}
	return
}()

// validHost reports whether v is uri-host [ ":" port ] (RFC 9112 section
// 3.2, RFC 3986 section 3.2.2): a reg-name or IPv4 address, or an IP
// literal in brackets, then an optional decimal port. An empty value is
// allowed (a target without an authority).
func validHost(v []byte) bool {
	i := 0
	if len(v) > 0 && v[0] == '[' {
		j := bytes.IndexByte(v, ']')
		if j < 2 {
			return false
		}
		for _, c := range v[1:j] {
			if !(hostChar[c] && c != '%') && c != ':' {
				return false
			}
		}
		i = j + 1
	} else {
		for i < len(v) && hostChar[v[i]] {
			if v[i] == '%' && (i+2 >= len(v) || unhex(v[i+1]) < 0 || unhex(v[i+2]) < 0) {
				return false
			}
			i++
		}
	}
	if i == len(v) {
		return true
	}
	if v[i] != ':' {
		return false
	}
	for _, c := range v[i+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func hasSchemePrefix(t []byte) bool {
	return (len(t) > 7 && equalFold(t[:7], "http://")) || (len(t) > 8 && equalFold(t[:8], "https://"))
}

// parseTE folds one Transfer-Encoding field into h. Only "chunked" is
// supported; it must come last and only once.
func parseTE(val []byte, h *head, seen *bool) *StatusError {
	var err *StatusError
	any := false
	forEachToken(val, func(tok []byte) {
		any = true
		if err != nil {
			return
		}
		if h.chunked {
			err = badRequest("chunked is not the final transfer coding")
			return
		}
		if equalFold(tok, "chunked") {
			h.chunked = true
			return
		}
		err = &StatusError{501, "unsupported transfer coding " + strconv.Quote(string(tok))}
	})
	if err != nil {
		return err
	}
	if !any {
		return badRequest("empty Transfer-Encoding")
	}
	*seen = true
	return nil
}

// forEachToken calls f for each non-empty element of a comma-separated
// list, trimmed of whitespace.
func forEachToken(v []byte, f func([]byte)) {
	for len(v) > 0 {
		var tok []byte
		tok, v = nextToken(v)
		if len(tok) > 0 {
			f(tok)
		}
	}
}

// nextToken splits the first element off a comma-separated list and
// trims it of whitespace; it may be empty.
func nextToken(v []byte) (tok, rest []byte) {
	if i := bytes.IndexByte(v, ','); i >= 0 {
		tok, rest = v[:i], v[i+1:]
	} else {
		tok = v
	}
	for len(tok) > 0 && (tok[0] == ' ' || tok[0] == '\t') {
		tok = tok[1:]
	}
	for len(tok) > 0 && (tok[len(tok)-1] == ' ' || tok[len(tok)-1] == '\t') {
		tok = tok[:len(tok)-1]
	}
	return tok, rest
}

// maxLength bounds Content-Length values (18 digits cannot overflow int64).
const maxLengthDigits = 18

func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > maxLengthDigits {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
