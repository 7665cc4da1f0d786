package globaldata

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNotFound is returned by Value.Decode for a key that is not set.
var ErrNotFound = errors.New("globaldata: key not set")

// Value is a shared variable as the server holds it: the JSON encoding of
// the value that was stored, or nothing when the key is not set.
type Value struct {
	b []byte // nil: not set
}

// Exists reports whether the key was set: the manual's isset on the value
// read. A key set to nil exists and holds JSON null.
func (v Value) Exists() bool { return v.b != nil }

// Decode unmarshals the value into the variable dst points to, as
// json.Unmarshal does; numbers decode into an any as float64. It returns
// ErrNotFound, leaving dst alone, when the key is not set.
func (v Value) Decode(dst any) error {
	if v.b == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(v.b, dst); err != nil {
		return fmt.Errorf("globaldata: decoding %s into %T: %w", v.b, dst, err)
	}
	return nil
}

// JSON returns the value's JSON encoding, or nil when the key is not set.
// The bytes belong to the Value: do not modify them.
func (v Value) JSON() []byte { return v.b }

// String returns the JSON text of the value, or "" when the key is not set.
func (v Value) String() string { return string(v.b) }

// MarshalJSON returns the value's JSON encoding, and null when the key is
// not set; a Value passed to Set, Add or Cas is stored or compared as the
// exact bytes it was read as.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.b == nil {
		return []byte("null"), nil
	}
	return v.b, nil
}

// encode returns the JSON encoding of a value given to Set, Add or Cas.
func encode(v any) ([]byte, error) {
	switch x := v.(type) {
	case Value:
		if x.b == nil {
			return []byte("null"), nil
		}
		return x.b, nil
	case *Value:
		if x != nil {
			return encode(*x)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("globaldata: value cannot be encoded as JSON: %w", err)
	}
	return b, nil
}
