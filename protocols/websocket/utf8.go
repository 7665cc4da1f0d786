package websocket

import "unicode/utf8"

// utf8Stream validates UTF-8 text that arrives in pieces (the fragments of
// a message), failing as soon as a piece cannot be the start of valid text.
// It holds the bytes of a sequence cut at the end of the previous piece.
type utf8Stream struct {
	pend [3]byte
	n    uint8
}

// seqLen returns the length of the sequence that lead byte b starts, or 0
// when b cannot start a sequence.
func seqLen(b byte) int {
	switch {
	case b < 0x80:
		return 1
	case b >= 0xc2 && b <= 0xdf:
		return 2
	case b >= 0xe0 && b <= 0xef:
		return 3
	case b >= 0xf0 && b <= 0xf4:
		return 4
	}
	return 0
}

// validPrefix reports whether p, shorter than the sequence its first byte
// announces, can still be completed into a valid sequence.
func validPrefix(p []byte) bool {
	if len(p) == 0 || seqLen(p[0]) <= len(p) {
		return false
	}
	if len(p) >= 2 {
		lo, hi := byte(0x80), byte(0xbf)
		switch p[0] {
		case 0xe0:
			lo = 0xa0
		case 0xed:
			hi = 0x9f
		case 0xf0:
			lo = 0x90
		case 0xf4:
			hi = 0x8f
		}
		if p[1] < lo || p[1] > hi {
			return false
		}
	}
	if len(p) >= 3 && (p[2] < 0x80 || p[2] > 0xbf) {
		return false
	}
	return true
}

// feed validates the next piece; final says it is the last one. It returns
// false as soon as the text seen so far cannot be valid UTF-8.
func (u *utf8Stream) feed(p []byte, final bool) bool {
	if u.n > 0 {
		var seq [4]byte
		n := copy(seq[:], u.pend[:u.n])
		need := seqLen(seq[0]) - n
		take := min(need, len(p))
		copy(seq[n:], p[:take])
		n += take
		p = p[take:]
		if take == need {
			if !utf8.Valid(seq[:n]) {
				return false
			}
			u.n = 0
		} else {
			if !validPrefix(seq[:n]) {
				return false
			}
			u.n = uint8(copy(u.pend[:], seq[:n]))
			return !final
		}
	}
	// Find a sequence cut at the end of p.
	cut := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-3; i-- {
		if p[i]&0xc0 != 0x80 {
			if l := seqLen(p[i]); l > len(p)-i {
				cut = i
			}
			break
		}
	}
	if !utf8.Valid(p[:cut]) {
		return false
	}
	if cut < len(p) {
		if final || !validPrefix(p[cut:]) {
			return false
		}
		u.n = uint8(copy(u.pend[:], p[cut:]))
	}
	return true
}

// reset forgets a partial sequence.
func (u *utf8Stream) reset() { u.n = 0 }
