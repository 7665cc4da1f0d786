package workerman

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// The master, its children and the command line talk in frames: a 4-byte
// big-endian length of the body, then the body, a JSON-encoded ctlMsg.
// The same framing runs over the socketpair between the master and each
// child, over the master's Unix control socket, and over the pipe through
// which a daemon reports its start to the terminal that launched it.

// maxCtlFrame bounds one frame: a connection list of a busy process fits,
// a corrupt or hostile length cannot make a reader allocate more.
const maxCtlFrame = 64 << 20

// errFrameTooLarge is returned for a frame longer than maxCtlFrame.
var errFrameTooLarge = errors.New("workerman: control frame larger than 64 MiB")

// ctlMsg is every message of the control protocols. Type says which
// fields mean something.
type ctlMsg struct {
	Type string `json:"type"`
	// Seq pairs a reply with its request.
	Seq uint64 `json:"seq,omitempty"`
	// Graceful selects stop -g and reload -g.
	Graceful bool `json:"graceful,omitempty"`
	// Error explains a failure.
	Error string `json:"error,omitempty"`
	// Text is output for the terminal (daemon start report).
	Text string `json:"text,omitempty"`
	// Code is an exit status (daemon start report).
	Code int `json:"code,omitempty"`
	// Pid is the master's process id (hello reply).
	Pid int `json:"pid,omitempty"`
	// Version is the framework version of the sender.
	Version string `json:"version,omitempty"`
	// IntervalMS is the qps sampling interval of a status request.
	IntervalMS int `json:"interval_ms,omitempty"`
	// Stats are one child's figures.
	Stats *procStats `json:"stats,omitempty"`
	// Conns are one child's connections, or all of them in a reply to the
	// command line.
	Conns []ConnectionInfo `json:"conns,omitempty"`
	// Status is the whole status report.
	Status *StatusReport `json:"status,omitempty"`
	// Metrics are one child's figures for the metrics endpoint.
	Metrics *metricsSnapshot `json:"metrics,omitempty"`
	// at is when the message was read (the metrics' loop lag).
	at time.Time
}

// procStats are the figures a child reports about itself.
type procStats struct {
	Connections  int64 `json:"connections"`
	TotalRequest int64 `json:"total_request"`
	SendFail     int64 `json:"send_fail"`
	Timers       int   `json:"timers"`
	// Inner are the workers the process listens on itself.
	Inner []InnerWorkerStatus `json:"inner,omitempty"`
}

// appendFrame appends the frame of m to dst.
func appendFrame(dst []byte, m *ctlMsg) ([]byte, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return dst, fmt.Errorf("workerman: encode control message: %w", err)
	}
	if len(body) > maxCtlFrame {
		return dst, errFrameTooLarge
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...), nil
}

// writeFrame writes m as one frame.
func writeFrame(w io.Writer, m *ctlMsg) error {
	b, err := appendFrame(nil, m)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// readFrame reads one frame and decodes it. io.EOF means the peer closed
// the stream between frames; a stream cut inside a frame is
// io.ErrUnexpectedEOF.
func readFrame(r io.Reader) (*ctlMsg, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxCtlFrame {
		return nil, errFrameTooLarge
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return decodeCtlMsg(body)
}

// decodeCtlMsg parses a frame body.
func decodeCtlMsg(body []byte) (*ctlMsg, error) {
	m := new(ctlMsg)
	if err := json.Unmarshal(body, m); err != nil {
		return nil, fmt.Errorf("workerman: bad control message: %w", err)
	}
	if m.Type == "" {
		return nil, errors.New("workerman: bad control message: no type")
	}
	return m, nil
}

// frameConn sends and receives frames over a stream from goroutines:
// Send never blocks its caller (the event loop), a writer goroutine
// drains the queue in order.
type frameConn struct {
	rw io.ReadWriteCloser

	mu      sync.Mutex
	queue   []*ctlMsg
	closed  bool
	wake    chan struct{}
	writerQ chan struct{} // closed when the writer has finished
}

func newFrameConn(rw io.ReadWriteCloser) *frameConn {
	fc := &frameConn{rw: rw, wake: make(chan struct{}, 1), writerQ: make(chan struct{})}
	go fc.writer()
	return fc
}

// Send queues m for writing. It is safe from any goroutine.
func (fc *frameConn) Send(m *ctlMsg) {
	fc.mu.Lock()
	if fc.closed {
		fc.mu.Unlock()
		return
	}
	fc.queue = append(fc.queue, m)
	fc.mu.Unlock()
	select {
	case fc.wake <- struct{}{}:
	default:
	}
}

func (fc *frameConn) writer() {
	defer close(fc.writerQ)
	var buf []byte
	for {
		fc.mu.Lock()
		q := fc.queue
		fc.queue = nil
		closed := fc.closed
		fc.mu.Unlock()
		if len(q) == 0 {
			if closed {
				return
			}
			<-fc.wake
			continue
		}
		buf = buf[:0]
		for _, m := range q {
			var err error
			if buf, err = appendFrame(buf, m); err != nil {
				logger().Error("control message dropped", "type", m.Type, "err", err)
			}
		}
		if _, err := fc.rw.Write(buf); err != nil {
			fc.mu.Lock()
			fc.closed = true
			fc.queue = nil
			fc.mu.Unlock()
			return
		}
		if cap(buf) > 1<<20 {
			buf = nil
		}
	}
}

// Recv reads the next frame; call it from one goroutine only.
func (fc *frameConn) Recv() (*ctlMsg, error) { return readFrame(fc.rw) }

// Flush waits until the queued frames have been written, then stops the
// writer; later sends are dropped. It blocks while the peer does not read:
// callers bound it (see flushBriefly).
func (fc *frameConn) Flush() {
	fc.mu.Lock()
	fc.closed = true
	fc.mu.Unlock()
	select {
	case fc.wake <- struct{}{}:
	default:
	}
	<-fc.writerQ
}

// Close closes the stream at once.
func (fc *frameConn) Close() error {
	fc.mu.Lock()
	fc.closed = true
	fc.queue = nil
	fc.mu.Unlock()
	select {
	case fc.wake <- struct{}{}:
	default:
	}
	return fc.rw.Close()
}
