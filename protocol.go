package workerman

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Protocol is an application protocol carried over a stream or datagram
// transport. It mirrors Workerman's protocol classes: Input finds the next
// package, Decode turns it into a message for OnMessage, Encode turns what
// the application sends into bytes.
//
// All three methods run on the event loop. buf and pkg are only valid until
// the method returns; a Decode result that refers to them is only valid
// during the OnMessage callback.
type Protocol interface {
	// Input reports the length of the first package in buf: 0 when more
	// bytes are needed, n > 0 for a package of n bytes (which may be more
	// than len(buf)), or an error, which closes the connection.
	Input(buf []byte, c *Connection) (int, error)
	// Decode turns one whole package into the message passed to OnMessage.
	// A nil message delivers nothing (for packages that only the protocol
	// cares about). An error closes the connection.
	Decode(pkg []byte, c *Connection) (any, error)
	// Encode appends the wire form of data to dst and returns the extended
	// slice. It must not keep dst.
	Encode(dst []byte, data any, c *Connection) ([]byte, error)
}

// PartialInspector is implemented by protocols that can reject a package
// before all of it has arrived, such as WebSocket failing invalid UTF-8
// text at once. InspectPartial receives the bytes buffered so far of a
// package whose length Input has reported, each time more arrive; it may
// close the connection itself, or return an error to have it closed.
type PartialInspector interface {
	InspectPartial(buf []byte, c *Connection) error
}

// ConnectionCloser is implemented by protocols that keep per-connection
// state and need to learn when a connection ends.
type ConnectionCloser interface {
	OnConnectionClose(c *Connection)
}

// Drainer is implemented by protocols that can end a connection politely
// when its process stops (stop, stop -g, reload, reload -g, StopAll), so
// that clients learn to go elsewhere instead of being cut off: the HTTP
// protocol lets the request in progress finish, answers it with
// "Connection: close" and closes idle keep-alive connections; WebSocket
// sends a close frame with status 1001 (going away).
//
// Drain runs on the loop, once per connection, after OnWorkerStop (so what
// OnWorkerStop sends goes first), and for the connections the process
// still accepts while it stops. The connection stays open until the
// protocol closes it or the stop's window ends (StopTimeout,
// GracefulStopTimeout); whatever is left then is closed. A fast stop
// (stop, StopAll) closes every connection right after Drain, so what Drain
// sends is flushed first but nothing is waited for.
type Drainer interface {
	Drain(c *Connection)
}

// drainConn asks c's protocol to end it politely.
func drainConn(c *Connection) {
	if d, ok := c.Protocol.(Drainer); ok && c.status == StatusEstablished {
		d.Drain(c)
	}
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Protocol{
		"text":  Text,
		"frame": Frame,
	}
)

// RegisterProtocol makes p available as the scheme name of listen and
// connect addresses, so NewWorker("name://0.0.0.0:1234") uses it. Names are
// case-insensitive. Registering a name twice replaces the earlier protocol;
// the transport schemes tcp, udp, unix and ssl cannot be registered.
func RegisterProtocol(name string, p Protocol) error {
	key := strings.ToLower(name)
	switch key {
	case "", "tcp", "udp", "unix", "ssl", "tls":
		return fmt.Errorf("workerman: cannot register protocol under reserved name %q", name)
	}
	if p == nil {
		return errors.New("workerman: RegisterProtocol with nil protocol")
	}
	registryMu.Lock()
	registry[key] = p
	registryMu.Unlock()
	return nil
}

// LookupProtocol returns the protocol registered under name.
func LookupProtocol(name string) (Protocol, bool) {
	registryMu.RLock()
	p, ok := registry[strings.ToLower(name)]
	registryMu.RUnlock()
	return p, ok
}

// Text is the built-in text protocol: each package is a line ended by "\n"
// (a preceding "\r" is dropped), so telnet and nc can talk to it. Messages
// are strings; Send appends "\n".
var Text Protocol = textProtocol{}

type textProtocol struct{}

func (textProtocol) Input(buf []byte, c *Connection) (int, error) {
	i := bytes.IndexByte(buf, '\n')
	if i < 0 {
		return 0, nil
	}
	return i + 1, nil
}

func (textProtocol) Decode(pkg []byte, c *Connection) (any, error) {
	pkg = pkg[:len(pkg)-1]
	if n := len(pkg); n > 0 && pkg[n-1] == '\r' {
		pkg = pkg[:n-1]
	}
	return string(pkg), nil
}

func (textProtocol) Encode(dst []byte, data any, c *Connection) ([]byte, error) {
	dst, err := appendData(dst, data)
	if err != nil {
		return dst, err
	}
	return append(dst, '\n'), nil
}

// Frame is the built-in frame protocol: a 4-byte big-endian total length
// (header included) followed by the body. Messages are []byte views valid
// during OnMessage.
var Frame Protocol = frameProtocol{}

type frameProtocol struct{}

// ErrFrameLength is returned by Frame.Input for a header shorter than itself.
var ErrFrameLength = errors.New("workerman: frame length smaller than its 4-byte header")

func (frameProtocol) Input(buf []byte, c *Connection) (int, error) {
	if len(buf) < 4 {
		return 0, nil
	}
	n := binary.BigEndian.Uint32(buf)
	if n < 4 {
		return 0, ErrFrameLength
	}
	if uint64(n) > uint64(maxInt) {
		return 0, ErrPackageTooLarge
	}
	return int(n), nil
}

func (frameProtocol) Decode(pkg []byte, c *Connection) (any, error) {
	return c.boxBytes(pkg[4:]), nil
}

func (frameProtocol) Encode(dst []byte, data any, c *Connection) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst, err := appendData(dst, data)
	if err != nil {
		return dst[:start], err
	}
	n := len(dst) - start
	if uint64(n) > 0xffffffff {
		return dst[:start], ErrPackageTooLarge
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(n))
	return dst, nil
}

const maxInt = int(^uint(0) >> 1)

// appendData appends the bytes of a message given as []byte, string,
// fmt.Stringer or error.
func appendData(dst []byte, data any) ([]byte, error) {
	switch v := data.(type) {
	case []byte:
		return append(dst, v...), nil
	case string:
		return append(dst, v...), nil
	case nil:
		return dst, nil
	case fmt.Stringer:
		return append(dst, v.String()...), nil
	case error:
		return append(dst, v.Error()...), nil
	default:
		return dst, fmt.Errorf("workerman: cannot send %T as raw bytes; give []byte or string, or set a protocol", data)
	}
}
