package workerman

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzTextInput checks the text protocol's framing: Input never reports a
// length beyond the buffer or one that does not end at a newline, and
// Decode of that package never panics and contains no newline.
func FuzzTextInput(f *testing.F) {
	for _, s := range []string{"", "\n", "abc", "abc\n", "a\r\nb\n", "\r\n\r\n", "x\x00y\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		n, err := Text.Input(buf, nil)
		if err != nil {
			t.Fatalf("text Input returned an error: %v", err)
		}
		if n == 0 {
			if bytes.IndexByte(buf, '\n') >= 0 {
				t.Fatal("text Input wants more data although a newline is buffered")
			}
			return
		}
		if n > len(buf) || buf[n-1] != '\n' || bytes.IndexByte(buf[:n-1], '\n') >= 0 {
			t.Fatalf("text Input = %d for %q", n, buf)
		}
		msg, err := Text.Decode(buf[:n], nil)
		if err != nil {
			t.Fatal(err)
		}
		s := msg.(string)
		if bytes.ContainsAny([]byte(s), "\n") {
			t.Fatalf("decoded line %q holds a newline", s)
		}
		out, err := Text.Encode(nil, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := Text.Input(out, nil); m != len(out) {
			t.Fatalf("re-encoded line is not one package: %q", out)
		}
	})
}

// FuzzFrameInput checks the frame protocol: Input either errors, asks for
// more, or returns the announced total length of at least 4, and Encode and
// Decode round-trip.
func FuzzFrameInput(f *testing.F) {
	for _, s := range [][]byte{nil, {0, 0, 0}, {0, 0, 0, 4}, {0, 0, 0, 7, 'a', 'b', 'c'}, {0, 0, 0, 3}, {0xff, 0xff, 0xff, 0xff}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		n, err := Frame.Input(buf, nil)
		if len(buf) < 4 {
			if n != 0 || err != nil {
				t.Fatalf("short buffer: %d, %v", n, err)
			}
			return
		}
		want := binary.BigEndian.Uint32(buf)
		if want < 4 {
			if err == nil {
				t.Fatalf("length %d accepted", want)
			}
			return
		}
		if err != nil || uint32(n) != want {
			t.Fatalf("Input = %d, %v; header says %d", n, err, want)
		}
		if n <= len(buf) {
			msg, err := Frame.Decode(buf[:n], nil)
			if err != nil {
				t.Fatal(err)
			}
			body := msg.([]byte)
			out, err := Frame.Encode(nil, body, nil)
			if err != nil || !bytes.Equal(out, buf[:n]) {
				t.Fatalf("round trip: %q vs %q (%v)", out, buf[:n], err)
			}
		}
	})
}

// FuzzParseEndpoint checks the address parser never panics and that what
// it accepts has a valid port.
func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"tcp://0.0.0.0:8686", "websocket://:::2000", "udp://[::1]:53", "unix:///tmp/a.sock", "ws://host:80/path?q=1", "http://[fe80::1%eth0]:80", "x://:", "://", "tcp://[::1", "text://a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseEndpoint(s)
		if err != nil {
			return
		}
		if e.network == "unix" {
			if e.path == "" {
				t.Fatal("unix endpoint without a path")
			}
			return
		}
		if e.port < 0 || e.port > 65535 || e.host == "" {
			t.Fatalf("accepted %q as %+v", s, e)
		}
	})
}
