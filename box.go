package workerman

import "unsafe"

// A []byte message reaches OnMessage(c *Connection, data any) as an
// interface value, and converting a slice to an interface copies its header
// to the heap: one allocation per message. A message is only valid during
// the callback that receives it (see OnMessage), so each connection keeps
// one heap slice header, points it at each message in turn, and hands
// OnMessage an interface value that refers to it. The raw tcp and frame
// paths then allocate nothing per message.

// bytesType is the type word of an interface value holding a []byte.
var bytesType = func() unsafe.Pointer {
	var v any = []byte(nil)
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&v))[0]
}()

// boxBytes returns b as an interface value without allocating after the
// connection's first message. The value is only good until the next call
// on the same connection, or unboxBytes.
func (c *Connection) boxBytes(b []byte) any {
	if c == nil {
		return b
	}
	if c.box == nil {
		c.box = new([]byte)
	}
	*c.box = b
	var v any
	e := (*[2]unsafe.Pointer)(unsafe.Pointer(&v))
	e[0] = bytesType
	e[1] = unsafe.Pointer(c.box)
	return v
}

// unboxBytes drops the connection's reference to the last message, so a
// large buffer it pointed into can be freed.
func (c *Connection) unboxBytes() {
	if c.box != nil {
		*c.box = nil
	}
}

// BytesMessage returns b as the value a Protocol's Decode returns for
// OnMessage, without the allocation that storing a []byte in an interface
// costs: the connection keeps one slice header, points it at b and returns
// a value that refers to it. The value is valid only until OnMessage
// returns, like every []byte message, and the next BytesMessage on the
// same connection replaces it; the connection drops its reference to b
// once OnMessage has returned.
func (c *Connection) BytesMessage(b []byte) any { return c.boxBytes(b) }
