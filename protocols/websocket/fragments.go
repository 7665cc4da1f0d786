package websocket

import (
	"slices"
	"sync/atomic"

	"github.com/workerman-go/workerman"
)

// A fragmented message is assembled in one buffer whose capacity at least
// doubles when it fills, so each byte is copied about twice at most. A
// binary message is valid only until OnMessage returns, so its buffer is
// kept afterwards as the process's spare and the next fragmented message
// is assembled in it: with messages of similar sizes each byte is then
// copied once, into memory that is already mapped, and nothing is
// allocated. The process keeps one spare buffer, as large as the largest
// such message it received.

var spare atomic.Pointer[[]byte]

// startFrag returns an empty buffer for a message whose first fragment
// has n bytes: the spare if there is one.
func startFrag(n int) []byte {
	if b := spare.Swap(nil); b != nil {
		return (*b)[:0]
	}
	return make([]byte, 0, max(2*n, 512))
}

// growFrag returns frag with room for n more bytes: its capacity at least
// doubles, and does not pass limit unless the bytes need it (the caller
// has checked them against the limit).
func growFrag(frag []byte, n, limit int) []byte {
	need := len(frag) + n
	c := max(2*cap(frag), need)
	if c > limit {
		c = max(limit, need)
	}
	return slices.Grow(frag, c-len(frag))
}

// keepSpare makes b the spare buffer, unless the spare is larger.
func keepSpare(b []byte) {
	if cur := spare.Load(); cur != nil && cap(*cur) >= cap(b) {
		return
	}
	spare.Store(&b)
}

// keepSpareAfter makes b the spare once the current callback (OnMessage)
// has returned.
func keepSpareAfter(b []byte) {
	workerman.Post(func() { keepSpare(b) })
}

// Sending, a frame is built in the buffer the connection passes to
// Encode, which the connection only reads until Send returns (it copies
// what it queues). A frame too large for it is built in the process's
// spare output buffer instead of a new one each time: as large as the
// largest frame sent, it is kept for the next.

// bigFrame is the frame size from which the spare output buffer is used.
const bigFrame = 64 << 10

var spareOut atomic.Pointer[[]byte]

// outBuffer returns dst copied into the spare output buffer, with room
// for n more bytes.
func outBuffer(dst []byte, n int) []byte {
	var b []byte
	if p := spareOut.Swap(nil); p != nil {
		b = (*p)[:0]
	}
	if cap(b) < len(dst)+n {
		b = make([]byte, 0, len(dst)+n)
	}
	return append(b, dst...)
}

// keepOut makes b the spare output buffer, unless the spare is larger.
func keepOut(b []byte) {
	if cur := spareOut.Load(); cur != nil && cap(*cur) >= cap(b) {
		return
	}
	spareOut.Store(&b)
}
