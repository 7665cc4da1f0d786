package websocket

import "unsafe"

// A text message is delivered as a string that stays valid after
// OnMessage returns, so its bytes are copied out of the read buffer. A
// string stored in an interface value needs its header (pointer and
// length) on the heap too, which would be a second allocation per
// message. textMessage makes one: the header followed by the bytes, with
// the interface value referring to the header. The block holds no pointer
// into any other object (the header points into the block itself), so it
// is allocated as plain bytes and the garbage collector keeps it alive
// through the interface value or through any string taken from it.

// stringType is the type word of an interface value holding a string.
var stringType = func() unsafe.Pointer {
	var v any = ""
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&v))[0]
}()

// stringHeader is the size of a string header, at the start of the block.
const stringHeader = int(unsafe.Sizeof(""))

// textMessage returns a copy of b as a string in an interface value, with
// one allocation.
func textMessage(b []byte) any {
	if len(b) == 0 {
		return ""
	}
	// A block of at least 16 bytes is aligned for the header's pointer.
	blk := make([]byte, stringHeader+len(b))
	copy(blk[stringHeader:], b)
	*(*string)(unsafe.Pointer(&blk[0])) = unsafe.String(&blk[stringHeader], len(b))
	var v any
	e := (*[2]unsafe.Pointer)(unsafe.Pointer(&v))
	e[0] = stringType
	e[1] = unsafe.Pointer(&blk[0])
	return v
}
