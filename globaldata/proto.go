package globaldata

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/workerman-go/workerman/internal/wire"
)

// Operation bytes of the wire format (see the package documentation).
const (
	opGet       = 'G'
	opSet       = 'S'
	opIsset     = 'I'
	opUnset     = 'U'
	opAdd       = 'A'
	opCas       = 'C'
	opIncrement = 'N'
	opReply     = 'R'
)

// Status bytes of a reply.
const (
	statusNo    = 0 // absent, not done, not swapped
	statusYes   = 1 // done; Get and Increment carry the value
	statusError = 2 // refused; a message follows
)

// request is one decoded client request. In a request parsed from a frame,
// key, val and old refer to the frame.
type request struct {
	op   byte
	id   uint64
	key  []byte
	val  []byte // Set, Add: the value; Cas: the new value
	old  []byte // Cas: the expected value
	step int64  // Increment
}

// opName names an operation for errors and logs.
func opName(op byte) string {
	switch op {
	case opGet:
		return "get"
	case opSet:
		return "set"
	case opIsset:
		return "isset"
	case opUnset:
		return "unset"
	case opAdd:
		return "add"
	case opCas:
		return "cas"
	case opIncrement:
		return "increment"
	}
	return fmt.Sprintf("op %q", op)
}

// appendRequest appends r as a frame.
func appendRequest(b []byte, r *request) []byte {
	b, start := wire.Begin(b)
	b = append(b, r.op)
	b = wire.AppendUvarint(b, r.id)
	b = wire.AppendBytes(b, r.key)
	switch r.op {
	case opSet, opAdd:
		b = wire.AppendBytes(b, r.val)
	case opCas:
		b = wire.AppendBytes(b, r.old)
		b = wire.AppendBytes(b, r.val)
	case opIncrement:
		b = binary.AppendVarint(b, r.step)
	}
	return wire.End(b, start)
}

// errMalformed reports a request frame that breaks the wire format.
var errMalformed = errors.New("malformed request")

// parseRequest decodes the payload of a request frame (without its length
// header). Values to be stored must be valid JSON.
func parseRequest(p []byte) (request, error) {
	var r request
	if len(p) == 0 {
		return r, errors.New("empty frame")
	}
	r.op = p[0]
	rd := wire.NewReader(p[1:])
	r.id = rd.Uvarint()
	r.key = rd.Bytes()
	switch r.op {
	case opGet, opIsset, opUnset:
	case opSet, opAdd:
		r.val = rd.Bytes()
	case opCas:
		r.old = rd.Bytes()
		r.val = rd.Bytes()
	case opIncrement:
		u := rd.Uvarint()
		r.step = int64(u>>1) ^ -int64(u&1) // zigzag, as binary.AppendVarint writes it
	default:
		return r, fmt.Errorf("unknown operation %q", r.op)
	}
	if err := rd.Done(); err != nil {
		return r, fmt.Errorf("%w (%s): %v", errMalformed, opName(r.op), err)
	}
	if (r.op == opSet || r.op == opAdd || r.op == opCas) && !json.Valid(r.val) {
		return r, fmt.Errorf("%w (%s): the value is not valid JSON", errMalformed, opName(r.op))
	}
	return r, nil
}

// reply is one decoded server reply; val and msg refer to the frame.
type reply struct {
	id     uint64
	status byte
	val    []byte // Get, Increment with statusYes
	msg    []byte // statusError
}

// appendReply appends a reply frame. val is written for statusYes when it
// is not nil, msg for statusError.
func appendReply(b []byte, id uint64, status byte, val []byte, msg string) []byte {
	b, start := wire.Begin(b)
	b = append(b, opReply)
	b = wire.AppendUvarint(b, id)
	b = append(b, status)
	switch {
	case status == statusYes && val != nil:
		b = wire.AppendBytes(b, val)
	case status == statusError:
		b = wire.AppendString(b, msg)
	}
	return wire.End(b, start)
}

// parseReply decodes the payload of a reply frame.
func parseReply(p []byte) (reply, error) {
	var r reply
	if len(p) == 0 || p[0] != opReply {
		return r, errors.New("not a reply")
	}
	rd := wire.NewReader(p[1:])
	r.id = rd.Uvarint()
	r.status = rd.Byte()
	if rd.Err() == nil {
		switch r.status {
		case statusNo:
		case statusYes:
			// The value is optional: Set, Add and the others send none.
			if rest := rd.Rest(); len(rest) > 0 {
				rd = wire.NewReader(rest)
				r.val = rd.Bytes()
			}
		case statusError:
			r.msg = rd.Bytes()
		default:
			return r, fmt.Errorf("unknown reply status %d", r.status)
		}
	}
	if err := rd.Done(); err != nil {
		return r, err
	}
	return r, nil
}
