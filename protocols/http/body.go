package http

import (
	"bytes"
	"io"
	"os"
)

// bodySink collects a request body that arrives in pieces: in memory up to
// a limit, then in a temporary file.
type bodySink struct {
	mem      []byte
	file     *os.File
	size     int64
	memLimit int
	dir      string
}

func (s *bodySink) write(p []byte) error {
	s.size += int64(len(p))
	if s.file == nil && len(s.mem)+len(p) <= s.memLimit {
		s.mem = append(s.mem, p...)
		return nil
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "workerman-body-")
		if err != nil {
			return err
		}
		// The file is unlinked at once: it lives while it is open, and
		// nothing is left behind if the process dies.
		os.Remove(f.Name())
		s.file = f
		if _, err := f.Write(s.mem); err != nil {
			return err
		}
		s.mem = nil
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
