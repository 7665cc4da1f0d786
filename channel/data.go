package channel

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Kind tells how a Data was published.
type Kind byte

// The kinds of data.
const (
	// KindBytes is a []byte.
	KindBytes Kind = 0
	// KindString is a string.
	KindString Kind = 1
	// KindJSON is any other value, as its JSON encoding.
	KindJSON Kind = 2
)

// Data is the data of one event or queue item, as a subscriber receives it.
// It refers to the client's read buffer: Bytes is valid only during the
// callback; String, Value and Decode copy.
type Data struct {
	kind Kind
	b    []byte
}

// NewData returns the Data a subscriber receives when v is published; for
// tests and for code that hands events on.
func NewData(v any) (Data, error) {
	k, b, err := encodeData(nil, v)
	return Data{kind: k, b: b}, err
}

// Kind returns how the data was published.
func (d Data) Kind() Kind { return d.kind }

// Bytes returns the data as received: the bytes, the string's bytes, or the
// JSON text. It is valid only during the callback.
func (d Data) Bytes() []byte { return d.b }

// String returns the data as a string: the string, the bytes, or the JSON
// text.
func (d Data) String() string { return string(d.b) }

// Value returns the data as the manual's mixed value: a string, a copy of
// the []byte, or the JSON decoded into an any (map[string]any, []any,
// float64, string, bool or nil).
func (d Data) Value() any {
	switch d.kind {
	case KindString:
		return string(d.b)
	case KindJSON:
		var v any
		if err := json.Unmarshal(d.b, &v); err != nil {
			return string(d.b)
		}
		return v
	default:
		return append([]byte(nil), d.b...)
	}
}

// Decode stores the data in the value v points to: JSON data is
// unmarshalled; a string or []byte goes into a *string or *[]byte.
func (d Data) Decode(v any) error {
	if d.kind == KindJSON {
		return json.Unmarshal(d.b, v)
	}
	switch p := v.(type) {
	case *string:
		*p = string(d.b)
	case *[]byte:
		*p = append((*p)[:0], d.b...)
	default:
		return fmt.Errorf("channel: cannot decode %s data into %T", d.kind, v)
	}
	return nil
}

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindBytes:
		return "bytes"
	case KindString:
		return "string"
	case KindJSON:
		return "JSON"
	}
	return fmt.Sprintf("Kind(%d)", byte(k))
}

// encodeData appends v's bytes to b and returns its kind.
func encodeData(b []byte, v any) (Kind, []byte, error) {
	switch x := v.(type) {
	case []byte:
		return KindBytes, append(b, x...), nil
	case string:
		return KindString, append(b, x...), nil
	case json.RawMessage:
		if !json.Valid(x) {
			return 0, b, errors.New("channel: json.RawMessage is not valid JSON")
		}
		return KindJSON, append(b, x...), nil
	}
	j, err := json.Marshal(v)
	if err != nil {
		return 0, b, fmt.Errorf("channel: data cannot be encoded as JSON: %w", err)
	}
	return KindJSON, append(b, j...), nil
}

// appendData appends a kind byte and v, leaving b unchanged on failure.
func appendData(b []byte, v any) ([]byte, error) {
	start := len(b)
	b = append(b, 0)
	k, b, err := encodeData(b, v)
	if err != nil {
		return b[:start], err
	}
	b[start] = byte(k)
	return b, nil
}
