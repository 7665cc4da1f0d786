package websocket

import (
	"bytes"
	"compress/flate"
	"net/http"
	"testing"
	"unicode/utf8"
)

// FuzzUTF8Stream checks the streaming validator against utf8.Valid for
// every way of cutting the text in two or three pieces.
func FuzzUTF8Stream(f *testing.F) {
	for _, s := range []string{"", "a", "κόσμε", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc2", "ab\xe0\xa0\x80cd", "\U0010ffff\xf0\x90"} {
		f.Add([]byte(s), uint8(1), uint8(2))
	}
	f.Fuzz(func(t *testing.T, b []byte, i, j uint8) {
		want := utf8.Valid(b)
		a := min(int(i), len(b))
		c := min(max(int(j), a), len(b))
		var u utf8Stream
		got := u.feed(b[:a], false) && u.feed(b[a:c], false) && u.feed(b[c:], true)
		if got != want {
			t.Fatalf("stream %v, utf8.Valid %v for %q cut at %d,%d", got, want, b, a, c)
		}
		// Failing early must never reject a valid prefix.
		var v utf8Stream
		if want && !v.feed(b[:a], false) {
			t.Fatalf("valid text rejected at its prefix %q", b[:a])
		}
	})
}

// FuzzParseHeader checks that header parsing never panics and that
// appendHeader's output parses back.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{0x82, 126, 0x01, 0x00})
	f.Add([]byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x88})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok, err := parseHeader(b)
		if !ok || err != nil {
			return
		}
		if h.size > len(b) || h.size > maxHeaderLen {
			t.Fatalf("header size %d of %d bytes", h.size, len(b))
		}
		b0 := b[0]
		out := appendHeader(nil, b0, int(min(h.length, 1<<40)), h.masked, uint32(h.key[0])|uint32(h.key[1])<<8|uint32(h.key[2])<<16|uint32(h.key[3])<<24)
		h2, ok2, err2 := parseHeader(out)
		if !ok2 || err2 != nil || h2.length != min(h.length, 1<<40) || h2.op != h.op || h2.fin != h.fin || h2.key != h.key {
			t.Fatalf("round trip: %+v -> %x -> %+v", h, out, h2)
		}
	})
}

// FuzzExtensions checks the permessage-deflate negotiation on arbitrary
// header values: no panic, and an accepted offer always yields an answer
// the client side accepts.
func FuzzExtensions(f *testing.F) {
	for _, s := range []string{
		"permessage-deflate", "permessage-deflate; client_max_window_bits",
		"permessage-deflate; server_max_window_bits=10, permessage-deflate",
		"x; a=\"1\", permessage-deflate;;", "permessage-deflate; server_max_window_bits=08",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		offers, ok := parseExtensions(http.Header{"Sec-Websocket-Extensions": {v}})
		if !ok {
			return
		}
		resp, bits, ok := acceptDeflate(offers)
		if !ok {
			return
		}
		if bits < 8 || bits > 15 {
			t.Fatalf("window bits %d", bits)
		}
		on, err := checkDeflateResponse(http.Header{"Sec-Websocket-Extensions": {resp}})
		if err != nil || !on {
			t.Fatalf("answer %q to %q not accepted: %v", resp, v, err)
		}
		checkDeflateResponse(http.Header{"Sec-Websocket-Extensions": {v}})
	})
}

// FuzzDecompress feeds arbitrary data to the bounded inflater and checks
// round trips of compress.
func FuzzDecompress(f *testing.F) {
	f.Add([]byte("hello hello hello"), []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})
	f.Add(bytes.Repeat([]byte{0}, 1000), []byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, plain, junk []byte) {
		const limit = 4096
		out, err := decompress(junk, limit)
		if err == nil && len(out) > limit {
			t.Fatalf("inflated %d bytes past the limit", len(out))
		}
		for _, level := range []int{flate.BestSpeed, flate.HuffmanOnly} {
			z := compress(nil, plain, level)
			got, err := decompress(z, len(plain))
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("round trip of %d bytes at level %d: %v", len(plain), level, err)
			}
			if len(plain) > 0 {
				if _, err := decompress(z, len(plain)-1); err != errTooBig {
					t.Fatalf("limit not enforced: %v", err)
				}
			}
		}
	})
}
