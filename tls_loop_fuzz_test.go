package workerman

import (
	"encoding/binary"
	"testing"
)

// FuzzRecordCursor hands a stream of TLS records over in arbitrary pieces
// and checks the cursor against a plain parse of the stream: the whole
// records it counts in each piece, and whether the rest of the stream
// completes the record under way. A cursor that counted too few records,
// or said a record is incomplete when it is not, would leave input waiting
// forever.
func FuzzRecordCursor(f *testing.F) {
	f.Add([]byte{3, 0, 200, 17, 0}, []byte{1, 2, 3})
	f.Add([]byte{0, 1, 0, 0, 16}, []byte{5})
	f.Add([]byte{40, 40, 40}, []byte{0, 7, 1, 200})
	f.Fuzz(func(t *testing.T, lens, cuts []byte) {
		// Build records with the body lengths lens asks for (scaled).
		var stream []byte
		var ends []int // offset just past each record
		for i, l := range lens {
			if i >= 64 {
				break
			}
			n := int(l) * 7
			hdr := []byte{23, 3, 3, 0, 0}
			binary.BigEndian.PutUint16(hdr[3:], uint16(n))
			stream = append(stream, hdr...)
			stream = append(stream, make([]byte, n)...)
			ends = append(ends, len(stream))
		}
		var r recordCursor
		pos, ci := 0, 0
		for pos < len(stream) {
			piece := 1
			if len(cuts) > 0 {
				piece = int(cuts[ci%len(cuts)])*13 + 1
				ci++
			}
			rest := stream[pos:]
			// Does what is left complete the record under way?
			next := 0
			for _, e := range ends {
				if e > pos {
					next = e
					break
				}
			}
			if got, want := r.completes(rest), next <= len(stream); got != want {
				t.Fatalf("at %d: completes %v, want %v", pos, got, want)
			}
			if got, want := r.completes(rest[:min(len(rest), next-pos-1)]), false; next-pos > 1 && got != want {
				t.Fatalf("at %d: completes a record one byte short", pos)
			}
			n := r.take(rest, piece)
			if n != min(piece, len(rest)) {
				t.Fatalf("take handed over %d of %d", n, min(piece, len(rest)))
			}
			whole := 0
			for _, e := range ends {
				if e > pos && e <= pos+n {
					whole++
				}
			}
			if r.held != whole {
				t.Fatalf("piece [%d,%d): held %d, want %d", pos, pos+n, r.held, whole)
			}
			pos += n
		}
	})
}
