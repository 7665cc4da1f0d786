package websocket

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// Opcode is the type of a WebSocket frame (RFC 6455 section 5.2).
type Opcode uint8

// Frame opcodes.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// The manual's names for the two kinds of data frame a connection sends by
// default (Workerman's $connection->websocketType): BinaryTypeBlob sends
// text frames, which browsers deliver as strings; BinaryTypeArrayBuffer
// sends binary frames, which browsers deliver as Blob or ArrayBuffer.
const (
	BinaryTypeBlob        = OpText
	BinaryTypeArrayBuffer = OpBinary
)

// String returns the opcode's name.
func (o Opcode) String() string {
	switch o {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return "reserved(" + strconv.Itoa(int(o)) + ")"
}

func (o Opcode) isControl() bool { return o&0x8 != 0 }

func (o Opcode) isKnown() bool {
	switch o {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
		return true
	}
	return false
}

// Close status codes (RFC 6455 section 7.4.1).
const (
	CloseNormal             = 1000
	CloseGoingAway          = 1001
	CloseProtocolError      = 1002
	CloseUnsupportedData    = 1003
	CloseNoStatus           = 1005 // received close frame had no status; never sent
	CloseAbnormal           = 1006 // connection dropped without a close frame; never sent
	CloseInvalidPayload     = 1007
	ClosePolicyViolation    = 1008
	CloseMessageTooBig      = 1009
	CloseMandatoryExtension = 1010
	CloseInternalError      = 1011
)

// validReceivedCloseCode reports whether a peer may send code in a close
// frame: the defined codes other than those reserved for local use, the
// IANA-registered 1012-1014, and the 3000-4999 application range.
func validReceivedCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

const (
	bitFin  = 0x80
	bitRsv1 = 0x40
	bitRsv2 = 0x20
	bitRsv3 = 0x10
	bitMask = 0x80

	maxControlPayload = 125
	maxHeaderLen      = 14
)

// header is a parsed frame header.
type header struct {
	fin    bool
	rsv    byte // the three reserved bits, in place (bitRsv1|bitRsv2|bitRsv3)
	op     Opcode
	masked bool
	key    [4]byte
	length uint64 // payload length
	size   int    // header length in bytes
}

var errLength = errors.New("frame length has its most significant bit set")

// parseHeader parses the frame header at the start of buf. ok is false when
// buf does not hold the whole header yet.
func parseHeader(buf []byte) (h header, ok bool, err error) {
	if len(buf) < 2 {
		return h, false, nil
	}
	b0, b1 := buf[0], buf[1]
	h.fin = b0&bitFin != 0
	h.rsv = b0 & (bitRsv1 | bitRsv2 | bitRsv3)
	h.op = Opcode(b0 & 0x0f)
	h.masked = b1&bitMask != 0
	n := 2
	switch l := b1 & 0x7f; l {
	case 126:
		if len(buf) < 4 {
			return h, false, nil
		}
		h.length = uint64(binary.BigEndian.Uint16(buf[2:]))
		n = 4
	case 127:
		if len(buf) < 10 {
			return h, false, nil
		}
		h.length = binary.BigEndian.Uint64(buf[2:])
		if h.length>>63 != 0 {
			return h, true, errLength
		}
		n = 10
	default:
		h.length = uint64(l)
	}
	if h.masked {
		if len(buf) < n+4 {
			return h, false, nil
		}
		copy(h.key[:], buf[n:n+4])
		n += 4
	}
	h.size = n
	return h, true, nil
}

// appendHeader appends a frame header with the given first byte, payload
// length and (for a client) masking key.
func appendHeader(dst []byte, b0 byte, length int, masked bool, key uint32) []byte {
	var mb byte
	if masked {
		mb = bitMask
	}
	switch {
	case length <= 125:
		dst = append(dst, b0, mb|byte(length))
	case length <= 0xffff:
		dst = append(dst, b0, mb|126, byte(length>>8), byte(length))
	default:
		dst = append(dst, b0, mb|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(length))
	}
	if masked {
		dst = binary.LittleEndian.AppendUint32(dst, key)
	}
	return dst
}

// appendFrame appends one whole frame; key is used when masked.
func appendFrame(dst []byte, b0 byte, payload []byte, masked bool, key uint32) []byte {
	dst = appendHeader(dst, b0, len(payload), masked, key)
	start := len(dst)
	dst = appendInPieces(dst, payload)
	if masked {
		maskBytes(key, dst[start:])
	}
	return dst
}

// maskBytes XORs b with the masking key, given as the four key bytes read
// little-endian, starting at key byte 0.
func maskBytes(key uint32, b []byte) {
	if len(b) >= 8 {
		k64 := uint64(key) | uint64(key)<<32
		for len(b) >= 8 {
			v := binary.LittleEndian.Uint64(b)
			binary.LittleEndian.PutUint64(b, v^k64)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= byte(key >> (8 * uint(i&3)))
	}
}
