package http

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"\r\nGET /a?b=c&d=%20 HTTP/1.0\r\nCookie: a=b; c=d\r\nConnection: keep-alive\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\na=b",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"GET http://h:1/p?q HTTP/1.1\r\nHost: h:1\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n",
	"GET / HTTP/1.1\nHost: a\n\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
	"GET / HTTP/9.9\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.2\r\nHost: [::1]:80\r\n\r\n",
	"GET https://a%41.example:/x HTTP/1.1\r\nHost: b\r\n\r\n",
	"GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: \r\n\r\n",
}

// uriHost is RFC 3986's uri-host [":" port], written independently of
// validHost.
var uriHost = regexp.MustCompile(`^(\[[0-9A-Za-z._~!$&'()*+,;=:-]+\]|([0-9A-Za-z._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*)(:[0-9]*)?$`)

// FuzzRequestHead checks that the head parser never panics, never reads
// out of bounds, and that every accessor of an accepted request works.
func FuzzRequestHead(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	p := &Protocol{}
	f.Fuzz(func(t *testing.T, buf []byte) {
		start, err := skipEmptyLines(buf)
		if err != nil || start < 0 {
			return
		}
		checkOnePass(t, p, buf, start)
		// Scan in two steps, as when the head arrives in pieces.
		half := start + (len(buf)-start)/2
		end, next, serr := findHeadEnd(buf[:half], start, start)
		if serr == nil && end == 0 {
			end, _, serr = findHeadEnd(buf, start, next)
		}
		if serr != nil || end == 0 {
			return
		}
		whole, _, _ := findHeadEnd(buf, start, start)
		if whole != end {
			t.Fatalf("incremental scan found %d, whole scan %d", end, whole)
		}
		h := head{start: start, end: end}
		if e := parseHead(buf, &h, limits{p.maxRequestLine(), p.maxHeaderCount()}); e != nil {
			if e.Code < 400 || e.Code > 599 {
				t.Fatalf("bad status %d", e.Code)
			}
			return
		}
		if !(start < h.methodEnd && h.methodEnd < h.targetStart && h.targetStart < h.targetEnd && h.targetEnd < end) {
			t.Fatalf("offsets out of order: %+v", h)
		}
		if h.chunked && h.contentLength >= 0 {
			t.Fatal("accepted both chunked and Content-Length")
		}
		if bytes.Contains(buf[start:end], []byte("\n ")) || bytes.Contains(buf[start:end], []byte("\n\t")) {
			t.Fatal("accepted obs-fold")
		}
		st := &connState{p: p, h: h}
		r := newRequest(st, buf[:end])
		_ = r.Method() + r.URI() + r.Path() + r.QueryString() + r.Host() + r.HostName() + r.ContentType() + r.ProtocolVersion()
		r.Query()
		r.Headers()
		r.Cookies()
		r.Header("x")
		r.KeepAlive()
		r.isHead()
		r.RawHead()
		if r.Method() == "" || r.URI() == "" {
			t.Fatal("empty method or target accepted")
		}
		if v := r.ProtocolVersion(); v != "1.0" && v != "1.1" {
			t.Fatalf("version %q", v)
		}
		for _, v := range r.HeaderValues("Host") {
			if !uriHost.MatchString(v) {
				t.Fatalf("accepted Host %q", v)
			}
		}
		if hasSchemePrefix([]byte(r.URI())) {
			if h := r.Host(); h == "" || !uriHost.MatchString(h) || !strings.Contains(r.URI(), "://"+h) {
				t.Fatalf("absolute-form %q: host %q", r.URI(), h)
			}
		}
	})
}

// FuzzChunkedBody checks the chunked decoder: no panic, the same result
// however the input is split, and the size bound respected.
func FuzzChunkedBody(f *testing.F) {
	f.Add([]byte("3\r\nabc\r\n0\r\n\r\n"), uint8(1))
	f.Add([]byte("a;x=y\r\n0123456789\r\n0\r\nT: v\r\n\r\n"), uint8(3))
	f.Add([]byte("1 \r\nz\r\n0\r\n\r\n"), uint8(2))
	f.Add([]byte("ffffffffffffffff\r\n"), uint8(5))
	p := &Protocol{MaxHeaderBytes: 256, MaxHeaderCount: 4}
	const max = 1 << 16
	run := func(t *testing.T, in []byte, step int) (out []byte, n int, done bool, err error) {
		var d chunkedDecoder
		sink := &bodySink{memLimit: max}
		for n < len(in) && !done && err == nil {
			e := n + step
			if e > len(in) {
				e = len(in)
			}
			var k int
			k, done, err = d.feed(in[n:e], sink, max, p)
			if k == 0 && err == nil && !done {
				t.Fatalf("decoder made no progress at %d", n)
			}
			n += k
		}
		if int64(len(sink.mem)) != sink.size {
			t.Fatalf("sink size %d, mem %d", sink.size, len(sink.mem))
		}
		return sink.mem, n, done, err
	}
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		s := int(step)%7 + 1
		o1, n1, d1, e1 := run(t, in, len(in)+1)
		o2, n2, d2, e2 := run(t, in, s)
		if (e1 == nil) != (e2 == nil) || d1 != d2 || (e1 == nil && (n1 != n2 || !bytes.Equal(o1, o2))) {
			t.Fatalf("split %d changed the result: %v/%v %v/%v %d/%d", s, e1, e2, d1, d2, n1, n2)
		}
		if len(o1) > max {
			t.Fatalf("decoded %d bytes over the limit", len(o1))
		}
	})
}

// checkOnePass checks that parseHeadOnePass accepts and refuses the same
// heads as findHeadEnd followed by parseHead, with the same result.
func checkOnePass(t *testing.T, p *Protocol, buf []byte, start int) {
	lim := limits{p.maxRequestLine(), p.maxHeaderCount()}
	max := p.maxHeaderBytes()
	h1 := head{start: start}
	done, e1 := parseHeadOnePass(buf, &h1, lim, max)
	whole, _, werr := findHeadEnd(buf, start, start)
	complete := werr == nil && whole > 0 && whole-start <= max
	var e2 *StatusError
	h2 := head{start: start, end: whole}
	if complete {
		e2 = parseHead(buf, &h2, lim)
	}
	switch {
	case done:
		if !complete || whole != h1.end {
			t.Fatalf("one pass ends the head at %d, findHeadEnd at %d (%v)", h1.end, whole, werr)
		}
		if (e1 == nil) != (e2 == nil) {
			t.Fatalf("one pass: %v, two passes: %v", e1, e2)
		}
		if e1 == nil && h1 != h2 {
			t.Fatalf("heads differ: %+v, %+v", h1, h2)
		}
	case e1 != nil:
		if complete && e2 == nil {
			t.Fatalf("one pass refused (%v) a head two passes accept", e1)
		}
	case complete:
		t.Fatalf("one pass missed a complete head (two passes: %v)", e2)
	}
}

// TestSkipFieldChars compares the eight-bytes-at-a-time scan with the
// byte table for every byte value at every position of a word.
func TestSkipFieldChars(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 20; pos++ {
			b := bytes.Repeat([]byte{'a'}, 20)
			b[pos] = byte(c)
			want := 0
			for want < len(b) && fieldChar[b[want]] {
				want++
			}
			for from := 0; from <= pos; from++ {
				w := want
				if w < from {
					w = from
				}
				if got := skipFieldChars(b, from); got != w {
					t.Fatalf("byte %#x at %d from %d: %d, want %d", c, pos, from, got, w)
				}
			}
		}
	}
}

// FuzzRanges checks the Range parser: no panic; what it accepts is within
// the file, at most MaxRanges ranges, none empty and none overlapping.
func FuzzRanges(f *testing.F) {
	for _, s := range []string{"bytes=0-1,5-6", "bytes=-3", "bytes=7-", "bytes=0-5,3-8", "bytes=20-", "bytes= 1-2 , -1", "bytes=0-0,1-1,2-2"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 {
			return
		}
		ranges, status := parseRanges(h, size)
		switch status {
		case 200, 416:
			if ranges != nil {
				t.Fatalf("%d with ranges %v", status, ranges)
			}
			return
		case 206:
		default:
			t.Fatalf("status %d", status)
		}
		if len(ranges) == 0 || len(ranges) > MaxRanges {
			t.Fatalf("%d ranges", len(ranges))
		}
		for i, r := range ranges {
			if r.start < 0 || r.end > size || r.start >= r.end {
				t.Fatalf("range %v of a file of %d", r, size)
			}
			for _, q := range ranges[:i] {
				if r.start < q.end && q.start < r.end {
					t.Fatalf("overlapping %v and %v", q, r)
				}
			}
		}
	})
}
