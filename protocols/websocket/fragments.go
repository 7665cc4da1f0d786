package websocket

import (
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
	b := make([]byte, len(frag), c)
	appendInPieces(b[:0], frag)
	return b
}

// appendInPieces appends src to dst in pieces of 256 KiB. A copy of
// megabytes in one call cannot be interrupted, and the garbage collector,
// which has to stop the loop goroutine to scan its stack, spins on another
// core until it ends; between pieces the goroutine can be stopped.
func appendInPieces(dst, src []byte) []byte {
	const piece = 256 << 10
	for len(src) > piece {
		dst = append(dst, src[:piece]...)
		src = src[piece:]
	}
	return append(dst, src...)
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
// what it queues). A frame too large for it is built in the buffer
// Connection.EncodeBuffer lends instead: memory that earlier large frames
// already mapped, which the connection keeps as its send queue, without a
// copy, when the kernel does not take the whole frame at once.

// bigFrame is the frame size from which the lent buffer is used.
const bigFrame = 64 << 10
