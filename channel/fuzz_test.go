package channel_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/workerman-go/workerman/channel"
	"github.com/workerman-go/workerman/internal/wire"
)

// FuzzServerFrames feeds arbitrary frames to a server over a real
// connection and checks the server against the wire format of the package
// documentation: a connection whose frames are all valid is served (a
// count asked after them is answered, and everything it receives is a
// well-formed server frame); one with an invalid frame is disconnected
// before the count is answered; and the server keeps serving another
// client either way.
//
// An input is a sequence of payloads, each preceded by its length as a
// uvarint (a length past the end takes what is left). An input starting
// with 0xff is instead sent as it is, unframed, and only the server's
// health is checked.
func FuzzServerFrames(f *testing.F) {
	path := filepath.Join(f.TempDir(), "ch.sock")
	serveAt(f, "unix://"+path, func(s *channel.Server) {
		s.MaxPackageSize = fuzzMaxPackage
		s.MaxQueueItems = 50
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	health, err := channel.Dial(ctx, "unix://"+path, nil)
	cancel()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(health.Close)

	seq := func(payloads ...[]byte) []byte {
		var b []byte
		for _, p := range payloads {
			b = binary.AppendUvarint(b, uint64(len(p)))
			b = append(b, p...)
		}
		return b
	}
	f.Add(seq(op('S', []byte{2}, "ev"), op('P', []byte("\x01hi"), "ev"), countFrame(5, "ev")))
	f.Add(seq(op('W', nil, "q"), op('Q', []byte("\x00\x01\x02"), "q"), op('X', nil, "q"), op('U', nil, "none")))
	f.Add(seq(op('Q', []byte("\x02{}"), "waiting")))
	f.Add(seq(op('S', []byte{0}, "")))
	f.Add(seq(op('Z', nil)))
	f.Add(seq(nil))
	f.Add(seq(op('S', wire.AppendUvarint(nil, 1<<31+1), "ev")))
	f.Add(append([]byte{0xff}, "\x00\x00\x00\x02"...))
	f.Add(append([]byte{0xff}, "\x00\x01\x00\x10SSSS"...))

	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.DialTimeout("unix", path, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if len(in) > 0 && in[0] == 0xff {
			c.Write(in[1:])
		} else {
			payloads := splitPayloads(in)
			valid := true
			var b []byte
			for _, p := range payloads {
				b = append(b, framed(p)...)
				valid = valid && validRequest(p)
			}
			const probe = 1 << 60
			b = append(b, framed(countFrame(probe, "probe"))...)
			c.Write(b)
			answered := false
			for {
				p, err := readFrame(c)
				if err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						t.Fatalf("neither served nor disconnected: %v; payloads %q", err, payloads)
					}
					if err == io.EOF || err == io.ErrUnexpectedEOF || errors.As(err, new(*net.OpError)) {
						break // disconnected
					}
					t.Fatalf("reading: %v", err)
				}
				if msg := checkServerFrame(p); msg != "" {
					t.Fatalf("malformed frame from the server %q: %s", p, msg)
				}
				if p[0] == 'c' {
					r := wire.NewReader(p[1:])
					if r.Uvarint() == probe {
						answered = true
						break
					}
				}
			}
			if answered != valid {
				t.Fatalf("valid %v but count answered %v; payloads %q", valid, answered, payloads)
			}
		}
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := health.CountContext(ctx, "x"); err != nil {
			t.Fatalf("the server does not answer another client: %v", err)
		}
	})
}

const fuzzMaxPackage = 64 << 10

func splitPayloads(in []byte) [][]byte {
	var out [][]byte
	for len(in) > 0 {
		n, k := binary.Uvarint(in)
		if k <= 0 {
			out = append(out, in)
			break
		}
		in = in[k:]
		if n > uint64(len(in)) {
			n = uint64(len(in))
		}
		out = append(out, in[:n])
		in = in[n:]
	}
	return out
}

// validRequest tells whether a payload is a request the documented wire
// format allows.
func validRequest(p []byte) bool {
	if len(p) == 0 || len(p)+4 > fuzzMaxPackage {
		return false
	}
	r := wire.NewReader(p[1:])
	switch p[0] {
	case 'S':
		r.Bytes()
		m := r.Uvarint()
		return r.Done() == nil && m <= 1<<31
	case 'U', 'W', 'X':
		r.Bytes()
		return r.Done() == nil
	case 'P', 'Q':
		r.Bytes()
		return r.Err() == nil && len(r.Rest()) >= 1
	case 'C':
		r.Uvarint()
		r.Bytes()
		return r.Done() == nil
	}
	return false
}

// checkServerFrame describes what is wrong with a frame from the server,
// or returns "".
func checkServerFrame(p []byte) string {
	if len(p) == 0 {
		return "empty"
	}
	r := wire.NewReader(p[1:])
	switch p[0] {
	case 'M', 'J':
		r.Bytes()
		rest := r.Rest()
		if r.Err() != nil || len(rest) < 1 {
			return "event or item without a name and kind"
		}
	case 'c':
		r.Uvarint()
		r.Uvarint()
		r.Uvarint()
		if r.Done() != nil {
			return "bad count"
		}
	case 'E':
		r.Bytes()
		if r.Done() != nil {
			return "bad error"
		}
	default:
		return fmt.Sprintf("unknown operation %q", p[0])
	}
	return ""
}
