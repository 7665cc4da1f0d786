package http

import (
	"bytes"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/workerman-go/workerman"
)

// bodyMemory is the memory that request bodies kept in memory take in
// this process, across all connections and protocols. It is changed on
// the event loop only. A body that would take it over the protocol's
// BodyMemoryTotal goes to a temporary file instead.
var bodyMemory int64

// reserveBodyMemory takes n bytes of the process's body memory for st's
// request, or reports false when that would pass the limit.
func (st *connState) reserveBodyMemory(n int64) bool {
	if n <= 0 || st == nil {
		return true
	}
	if bodyMemory+n > st.p.bodyMemoryTotal() {
		return false
	}
	bodyMemory += n
	st.memHeld += n
	return true
}

// releaseBodyMemory gives back what st's request took.
func (st *connState) releaseBodyMemory() {
	if st == nil || st.memHeld == 0 {
		return
	}
	bodyMemory -= st.memHeld
	bodyReleased += st.memHeld
	st.memHeld = 0
	if bodyMemory == 0 && bodyReleased >= trimAfter && !trimPending {
		// A burst of bodies in memory is over: give the memory back to
		// the system once the loop has been quiet for a moment, rather
		// than when the garbage collector next happens to run.
		trimPending = true
		workerman.Timer.Once(trimDelay, trimMemory)
	}
}

// Memory of bodies is given back to the system after a burst of at least
// trimAfter bytes, trimDelay after the last body of it was released, and
// not while bodies are kept in memory.
const (
	trimAfter = 16 << 20
	trimDelay = time.Second
)

var (
	bodyReleased int64 // bytes released since the last trim (on the loop)
	trimPending  bool
)

func trimMemory() {
	trimPending = false
	if bodyMemory != 0 {
		return
	}
	bodyReleased = 0
	debug.FreeOSMemory()
}

// bodySink collects a request body that arrives in pieces: in memory up to
// a limit (of the request and of the process), else in a temporary file.
// A body whose announced length is over the limit goes to its file from
// the first byte: each piece is written from the connection's read buffer
// as it arrives, so a streamed upload holds no body memory at all.
type bodySink struct {
	st       *connState
	mem      []byte
	file     *os.File
	size     int64
	memLimit int
	dir      string
}

// newBodySink returns the sink of a body of n bytes, or of unknown length
// (chunked) when n < 0.
func (st *connState) newBodySink(n int64) (*bodySink, error) {
	s := &bodySink{st: st, memLimit: st.p.bodyMemoryLimit(), dir: st.p.tempDir()}
	if n >= 0 {
		if n > int64(s.memLimit) || !st.reserveBodyMemory(n) {
			return s, s.toFile()
		}
		s.mem = make([]byte, 0, n)
	}
	return s, nil
}

// toFile moves the body to an unlinked temporary file.
func (s *bodySink) toFile() error {
	f, err := os.CreateTemp(s.dir, "workerman-body-")
	if err != nil {
		return err
	}
	// The file is unlinked at once: it lives while it is open, and
	// nothing is left behind if the process dies.
	os.Remove(f.Name())
	s.file = f
	if len(s.mem) > 0 {
		if _, err := f.Write(s.mem); err != nil {
			return err
		}
	}
	s.mem = nil
	s.st.releaseBodyMemory()
	return nil
}

func (s *bodySink) write(p []byte) error {
	s.size += int64(len(p))
	if s.file == nil {
		need := len(s.mem) + len(p)
		if need <= cap(s.mem) {
			s.mem = append(s.mem, p...)
			return nil
		}
		if need <= s.memLimit {
			// Grow by doubling, within the limits.
			c := min(max(2*cap(s.mem), need, 512), s.memLimit)
			if s.st.reserveBodyMemory(int64(c - cap(s.mem))) {
				m := make([]byte, len(s.mem), c)
				copy(m, s.mem)
				s.mem = append(m, p...)
				return nil
			}
		}
		if err := s.toFile(); err != nil {
			return err
		}
	}
	_, err := s.file.Write(p)
	return err
}

// chunked decoder states.
const (
	csSize = iota
	csSizeWS
	csExt
	csSizeLF
	csData
	csDataCR
	csDataLF
	csTrailerStart
	csTrailer
	csTrailerLF
	csEndLF
	csDone
)

// Bounds of the chunked framing.
const (
	maxChunkSizeDigits = 15 // up to 2^60-1
	maxChunkExtBytes   = 4096
)

// chunkedDecoder decodes a chunked request body incrementally, so a body
// is never held whole in the receive buffer.
type chunkedDecoder struct {
	state        int
	size         int64 // bytes left in the current chunk, or digits read
	digits       int
	ext          int
	total        int64
	trailerBytes int
	trailers     int
}

// feed decodes as much of in as belongs to the body, writing data to sink.
// It returns the number of bytes consumed and whether the body is
// complete.
func (d *chunkedDecoder) feed(in []byte, sink *bodySink, maxBody int64, lim *Protocol) (int, bool, error) {
	i := 0
	for i < len(in) {
		b := in[i]
		switch d.state {
		case csSize:
			v := unhex(b)
			switch {
			case v >= 0:
				if d.digits >= maxChunkSizeDigits {
					return i, false, &StatusError{413, "chunk size too large"}
				}
				d.size = d.size<<4 | int64(v)
				d.digits++
			case d.digits == 0:
				return i, false, badRequest("malformed chunk size")
			case b == ' ' || b == '\t':
				d.state = csSizeWS
			case b == ';':
				d.state = csExt
			case b == '\r':
				d.state = csSizeLF
			default:
				return i, false, badRequest("malformed chunk size")
			}
			i++
		case csSizeWS:
			switch b {
			case ' ', '\t':
			case ';':
				d.state = csExt
			case '\r':
				d.state = csSizeLF
			default:
				return i, false, badRequest("malformed chunk size")
			}
			i++
		case csExt:
			if b == '\r' {
				d.state = csSizeLF
			} else if !fieldChar[b] {
				return i, false, badRequest("control character in chunk extension")
			}
			d.ext++
			if d.ext > maxChunkExtBytes {
				return i, false, badRequest("chunk extensions too long")
			}
			i++
		case csSizeLF:
			if b != '\n' {
				return i, false, badRequest("bare CR in chunk framing")
			}
			i++
			d.digits, d.ext = 0, 0
			if d.size == 0 {
				d.state = csTrailerStart
				break
			}
			if d.total+d.size > maxBody {
				return i, false, &StatusError{413, "request body larger than the limit"}
			}
			d.total += d.size
			d.state = csData
		case csData:
			n := int64(len(in) - i)
			if n > d.size {
				n = d.size
			}
			if err := sink.write(in[i : i+int(n)]); err != nil {
				return i, false, err
			}
			i += int(n)
			d.size -= n
			if d.size == 0 {
				d.state = csDataCR
			}
		case csDataCR:
			if b != '\r' {
				return i, false, badRequest("chunk data longer than its size")
			}
			d.state = csDataLF
			i++
		case csDataLF:
			if b != '\n' {
				return i, false, badRequest("bare CR in chunk framing")
			}
			d.state = csSize
			i++
		case csTrailerStart:
			if b == '\r' {
				d.state = csEndLF
				i++
				break
			}
			if !tchar[b] {
				return i, false, badRequest("malformed trailer field")
			}
			d.trailers++
			if d.trailers > lim.maxHeaderCount() {
				return i, false, &StatusError{431, "too many trailer fields"}
			}
			d.state = csTrailer
		case csTrailer:
			// Trailer fields are checked for framing and discarded.
			j := bytes.IndexByte(in[i:], '\r')
			if j < 0 {
				j = len(in) - i
			}
			seg := in[i : i+j]
			for _, c := range seg {
				if !fieldChar[c] {
					return i, false, badRequest("control character in trailer field")
				}
			}
			d.trailerBytes += j
			if d.trailerBytes > lim.maxHeaderBytes() {
				return i, false, &StatusError{431, "trailer section too large"}
			}
			i += j
			if i < len(in) {
				d.state = csTrailerLF
				i++
			}
		case csTrailerLF:
			if b != '\n' {
				return i, false, badRequest("bare CR in trailer section")
			}
			d.state = csTrailerStart
			i++
		case csEndLF:
			if b != '\n' {
				return i, false, badRequest("bare CR at the end of the chunked body")
			}
			d.state = csDone
			return i + 1, true, nil
		}
	}
	return i, false, nil
}

func unhex(b byte) int {
	switch {
	case '0' <= b && b <= '9':
		return int(b - '0')
	case 'a' <= b && b <= 'f':
		return int(b-'a') + 10
	case 'A' <= b && b <= 'F':
		return int(b-'A') + 10
	}
	return -1
}

// bodyReader reads a request body kept in memory or in a file.
func bodyReader(mem []byte, f *os.File, size int64) io.ReadCloser {
	if f != nil {
		return io.NopCloser(io.NewSectionReader(f, 0, size))
	}
	return io.NopCloser(bytes.NewReader(mem))
}
