package websocket

import (
	"math/bits"

	"github.com/workerman-go/workerman"
)

// InspectPartial implements workerman.PartialInspector: the payload of an
// uncompressed text frame is checked as UTF-8 while the frame is still
// arriving, so invalid text fails the connection at once (1007) rather than
// when the whole frame is in.
func (s *Server) InspectPartial(buf []byte, c *workerman.Connection) error {
	inspectPartial(buf, c)
	return nil
}

// InspectPartial implements workerman.PartialInspector; see
// Server.InspectPartial.
func (cl *Client) InspectPartial(buf []byte, c *workerman.Connection) error {
	inspectPartial(buf, c)
	return nil
}

func inspectPartial(buf []byte, c *workerman.Connection) {
	st := stateOf(c)
	if st == nil || st.flags&flagOpen == 0 || st.flags&(flagCloseSent|flagCloseRecv) != 0 {
		return
	}
	h, ok, err := parseHeader(buf)
	if !ok || err != nil || len(buf) <= h.size {
		return
	}
	if st.partDone == 0 {
		switch {
		case h.op == OpText && h.rsv&bitRsv1 == 0:
			st.partUTF8 = utf8Stream{}
		case h.op == OpContinuation && st.fragOp == OpText && st.flags&flagFragDeflate == 0:
			st.partUTF8 = st.utf8
		default:
			return
		}
	}
	payload := buf[h.size:]
	key := uint32(h.key[0]) | uint32(h.key[1])<<8 | uint32(h.key[2])<<16 | uint32(h.key[3])<<24
	var chunk [512]byte
	for off := int(st.partDone); off < len(payload); {
		n := copy(chunk[:], payload[off:])
		if h.masked {
			// The key byte for payload byte i is i&3: start at off&3.
			maskBytes(bits.RotateLeft32(key, -8*(off&3)), chunk[:n])
		}
		if !st.partUTF8.feed(chunk[:n], false) {
			st.fail(c, CloseInvalidPayload, "invalid UTF-8 in text message")
			return
		}
		off += n
	}
	st.partDone = uint32(len(payload))
}
