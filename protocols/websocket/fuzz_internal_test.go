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
// the client side accepts with the same parameters, and a connection state
// whose sending side fits what the receiving side expects.
func FuzzExtensions(f *testing.F) {
	for _, s := range []string{
		"permessage-deflate", "permessage-deflate; client_max_window_bits",
		"permessage-deflate; server_max_window_bits=10, permessage-deflate",
		"x; a=\"1\", permessage-deflate;;", "permessage-deflate; server_max_window_bits=08",
		"permessage-deflate; server_no_context_takeover; client_max_window_bits=9",
		"permessage-deflate; client_no_context_takeover; server_max_window_bits=15",
		"permessage-deflate; server_max_window_bits=8; client_max_window_bits=8",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		checkDeflateResponse(http.Header{"Sec-Websocket-Extensions": {v}}, false)
		checkDeflateResponse(http.Header{"Sec-Websocket-Extensions": {v}}, true)
		offers, ok := parseExtensions(http.Header{"Sec-Websocket-Extensions": {v}})
		if !ok {
			return
		}
		for _, takeover := range []bool{false, true} {
			resp, p, ok := acceptDeflate(offers, takeover)
			if !ok {
				continue
			}
			if p.serverBits < 8 || p.serverBits > 15 || p.clientBits < 8 || p.clientBits > 15 {
				t.Fatalf("window bits %+v", p)
			}
			on, cp, err := checkDeflateResponse(http.Header{"Sec-Websocket-Extensions": {resp}}, true)
			if err != nil || !on || cp != p {
				t.Fatalf("answer %q to %q: on %v, %+v, want %+v: %v", resp, v, on, cp, p, err)
			}
			if !takeover {
				if on, _, err := checkDeflateResponse(http.Header{"Sec-Websocket-Extensions": {resp}}, false); err != nil || !on {
					t.Fatalf("answer %q to %q not accepted by a client without context takeover: %v", resp, v, err)
				}
			}
			srv, cli := newDeflateConn(p, false, takeover), newDeflateConn(cp, true, true)
			for _, pair := range [][2]*deflateConn{{srv, cli}, {cli, srv}} {
				snd, rcv := pair[0], pair[1]
				if snd.sendBits != rcv.recvBits || snd.sendContext && !rcv.recvContext || snd.sendContext && snd.sendBits != 15 {
					t.Fatalf("%q: sender %+v, receiver %+v", resp, snd, rcv)
				}
			}
		}
	})
}

// FuzzContextTakeover sends a sequence of messages from one connection's
// compressor to another's decompressor, with every window size and with
// or without context takeover, and checks that each message arrives whole
// while the receiver's dictionary holds no more than the window.
func FuzzContextTakeover(f *testing.F) {
	f.Add([]byte(`{"from":"alice","text":"hello"}|{"from":"bob","text":"hello alice"}|{"from":"alice","text":"how are you"}`), uint8(15), true)
	f.Add(bytes.Repeat([]byte("abcdefgh|"), 600), uint8(8), true)
	f.Add(append(bytes.Repeat([]byte{'x'}, 5000), '|', 'x'), uint8(9), false)
	f.Fuzz(func(t *testing.T, data []byte, bits uint8, takeover bool) {
		bits = 8 + bits%8
		p := deflateParams{serverBits: int(bits), clientBits: 15, serverNoContext: !takeover}
		snd := newDeflateConn(p, false, takeover)
		rcv := newDeflateConn(p, true, takeover)
		defer snd.release()
		for _, level := range []int{flate.BestSpeed, 2} {
			for _, m := range bytes.Split(data, []byte("|")) {
				z := snd.compress(nil, m, level)
				got, err := rcv.decompress(z, len(m))
				if err != nil || !bytes.Equal(got, m) {
					t.Fatalf("%d-bit window, takeover %v, level %d: message of %d bytes: %v", bits, takeover, level, len(m), err)
				}
				if len(rcv.dict) > 1<<bits {
					t.Fatalf("dictionary of %d bytes for a %d-bit window", len(rcv.dict), bits)
				}
			}
		}
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
