package globaldata

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"testing"
)

// FuzzServerFrame feeds arbitrary payloads to the server's frame parser
// and performs what it accepts: nothing panics, an accepted request
// encodes back to a frame that parses the same, every value the server
// then holds is valid JSON and independent of the frame's memory, and the
// reply parses. The seed corpus is in testdata/fuzz/FuzzServerFrame.
func FuzzServerFrame(f *testing.F) {
	f.Add([]byte("G\x01\x01k"))
	f.Fuzz(func(t *testing.T, p []byte) {
		p = bytes.Clone(p)
		r, err := parseRequest(p)
		if err != nil {
			return
		}
		frame := appendRequest(nil, &r)
		if int(binary.BigEndian.Uint32(frame)) != len(frame) {
			t.Fatalf("frame length %d, header says %d", len(frame), binary.BigEndian.Uint32(frame))
		}
		again, err := parseRequest(frame[4:])
		if err != nil {
			t.Fatalf("re-encoded request does not parse: %v", err)
		}
		if again.op != r.op || again.id != r.id || again.step != r.step || !bytes.Equal(again.key, r.key) ||
			!bytes.Equal(again.val, r.val) || !bytes.Equal(again.old, r.old) {
			t.Fatalf("round trip: %+v became %+v", r, again)
		}

		s := &Server{data: map[string][]byte{string(r.key): []byte(`41`)}}
		for range 2 {
			status, val, msg := s.apply(&r)
			rp, err := parseReply(appendReply(nil, r.id, status, val, msg)[4:])
			if err != nil || rp.id != r.id || rp.status != status || !bytes.Equal(rp.val, val) || string(rp.msg) != msg {
				t.Fatalf("reply %d %q %q: parsed %+v, %v", status, val, msg, rp, err)
			}
			if r.op == opIncrement && status == statusYes && !json.Valid(val) {
				t.Fatalf("increment answered %q", val)
			}
		}
		key := bytes.Clone(r.key)
		before := bytes.Clone(s.data[string(key)])
		for i := range p {
			p[i] ^= 0xff // the frame's memory is reused by the next read
		}
		if v, ok := s.data[string(key)]; ok && (!json.Valid(v) || !bytes.Equal(v, before)) {
			t.Fatalf("stored value %q (was %q) depends on the frame", v, before)
		}
	})
}
