// Package wire holds the encoding primitives shared by the component
// protocols (channel, globaldata): frames with a 4-byte big-endian length
// that counts itself (the frame protocol), and fields inside them written
// as unsigned varints and varint-prefixed byte strings.
package wire

import (
	"encoding/binary"
	"errors"
	"strings"
)

// ListenAddress turns a component server's address ("host:port",
// "tcp://host:port", "unix:///path"; "" means def) into the address of
// its worker, which speaks the frame protocol.
func ListenAddress(address, def string) string {
	if address == "" {
		address = def
	}
	switch {
	case strings.HasPrefix(address, "tcp://"):
		return "frame://" + strings.TrimPrefix(address, "tcp://")
	case !strings.Contains(address, "://"):
		return "frame://" + address
	}
	return address
}

// HeaderSize is the size of a frame's length prefix.
const HeaderSize = 4

// ErrShort reports a frame that ends inside a field.
var ErrShort = errors.New("wire: frame ends inside a field")

// Begin starts a frame at the end of b and returns b with room for its
// header; End fills the header in.
func Begin(b []byte) ([]byte, int) {
	return append(b, 0, 0, 0, 0), len(b)
}

// End writes the length of the frame that starts at start.
func End(b []byte, start int) []byte {
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

// AppendUvarint appends v as an unsigned varint.
func AppendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

// AppendString appends s with its length as a varint.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendBytes appends p with its length as a varint.
func AppendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// Reader reads the fields of one frame's payload. The first failure sticks:
// later reads return zero values, and Err reports it.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads p, which stays owned by the caller.
func NewReader(p []byte) Reader { return Reader{b: p} }

// Err returns the first failure, or nil.
func (r *Reader) Err() error { return r.err }

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Bytes reads a length-prefixed byte string without copying it.
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

// Rest returns what is left unread, without copying it.
func (r *Reader) Rest() []byte {
	if r.err != nil {
		return nil
	}
	p := r.b
	r.b = nil
	return p
}

// Done reports an error unless the whole payload has been read.
func (r *Reader) Done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = errors.New("wire: unexpected bytes at the end of a frame")
	}
	return r.err
}

func (r *Reader) fail() {
	if r.err == nil {
		r.err = ErrShort
	}
	r.b = nil
}
