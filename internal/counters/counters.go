// Package counters holds the figures a worker process keeps for its
// metrics: plain integers changed on the process's event loop only (no
// atomics or locks on the hot path), read on the loop when the master asks
// for them. Figures changed off the loop (the channel client's) are atomic.
package counters

import (
	"sync/atomic"
	"time"
)

// On is true in a process whose figures are collected (workerman's
// MetricsAddress is set). Code that would spend time on a figure (a clock
// reading) checks it first; plain increments are made either way.
var On bool

// Reasons a connection closed.
const (
	CloseApp      = iota // Close or Destroy by the application
	ClosePeer            // the peer ended the connection
	CloseError           // a read or write error (reset, broken pipe)
	CloseProtocol        // the protocol refused the input
	ClosePanic           // a callback panicked (recovered)
	CloseStop            // the worker stopped
	NumCloseReasons
)

// CloseReasonNames are the label values of the close reasons.
var CloseReasonNames = [NumCloseReasons]string{"app", "peer", "error", "protocol", "panic", "stop"}

// Kinds of protocol errors.
const (
	ProtoTooLarge = iota // a package over MaxPackageSize
	ProtoInput           // Input refused the bytes
	ProtoDecode          // Decode refused the package
	NumProtoKinds
)

// ProtoKindNames are the label values of the protocol error kinds.
var ProtoKindNames = [NumProtoKinds]string{"package_too_large", "input", "decode"}

// LatencyBounds are the upper bounds (seconds) of the HTTP latency
// histogram's buckets.
var LatencyBounds = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Process is the figures of one worker process.
type Process struct {
	Accepted    int64
	Closed      [NumCloseReasons]int64
	BytesIn     int64 // of closed connections; open ones are added on reading
	BytesOut    int64
	MessagesIn  int64
	MessagesOut int64
	BufferFull  int64
	Protocol    [NumProtoKinds]int64
	TLSOK       int64
	TLSFail     int64

	// HTTP responses by status code (index code-100, 100 to 999), and the
	// time from a request's arrival to its response.
	HTTPByCode   [900]int64
	LatencyCount [len(LatencyBounds) + 1]int64
	LatencySum   time.Duration
}

// P is the calling process's figures.
var P Process

// latencyBoundsNs are LatencyBounds in nanoseconds, compared without
// floating point.
var latencyBoundsNs = func() (b [len(LatencyBounds)]time.Duration) {
	for i, s := range LatencyBounds {
		b[i] = time.Duration(s * float64(time.Second))
	}
	return b
}()

// ObserveHTTP records an HTTP response with its status code, to a request
// that arrived at start (zero when unknown).
func ObserveHTTP(code int, start time.Time) {
	if code >= 100 && code <= 999 {
		P.HTTPByCode[code-100]++
	}
	if start.IsZero() {
		return
	}
	d := time.Since(start)
	P.LatencySum += d
	i := 0
	for i < len(latencyBoundsNs) && d > latencyBoundsNs[i] {
		i++
	}
	P.LatencyCount[i]++
}

// Channel client figures, changed from any goroutine.
var (
	ChannelPublished atomic.Int64
	ChannelDelivered atomic.Int64
	ChannelErrors    atomic.Int64
)
