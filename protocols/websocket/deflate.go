package websocket

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"sync"
)

// permessage-deflate (RFC 7692). Compressors and decompressors are shared
// through pools. A message compressed on its own takes one from the pool
// and gives it back; a connection with context takeover keeps what the
// next message needs:
//
//   - receiving, the last 2^window-bits bytes (at most 32 KiB) of the
//     messages it inflated, the dictionary of the next one, which a pooled
//     decompressor starts from;
//   - sending, a compressor of its own (compress/flate keeps about 790 KiB
//     in one), taken at the first compressed message and given back when
//     the connection closes.
//
// compress/flate always refers up to 32 KiB back and cannot be told to use
// a smaller window, so output that must fit a window below 15 bits is
// compressed without context takeover, and a message longer than the
// window is Huffman-coded without back-references: within one message a
// back-reference never reaches further back than the message's length.

const deflateName = "permessage-deflate"

// deflateTail ends a message for the decompressor: the sync-flush marker the
// sender removed, then an empty final stored block, so reading ends with
// io.EOF.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// errTooBig reports a message that inflates past the size limit.
var errTooBig = errors.New("message larger than MaxPackageSize")

var (
	writerPools [12]sync.Pool // by level+2 (flate.HuffmanOnly is -2)
	readerPool  sync.Pool
)

// appendWriter collects the compressor's output.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

type pooledWriter struct {
	fw    *flate.Writer
	out   appendWriter
	level int
}

func validLevel(level int) int {
	if level < flate.HuffmanOnly || level > flate.BestCompression {
		return flate.BestSpeed
	}
	return level
}

// getWriter takes a reset compressor of the level from its pool.
func getWriter(level int) *pooledWriter {
	level = validLevel(level)
	pw, _ := writerPools[level+2].Get().(*pooledWriter)
	if pw == nil {
		pw = &pooledWriter{level: level}
		pw.fw, _ = flate.NewWriter(&pw.out, level)
	} else {
		pw.fw.Reset(&pw.out)
	}
	return pw
}

func (pw *pooledWriter) put() {
	pw.out.b = nil
	writerPools[pw.level+2].Put(pw)
}

// deflate appends the compressed form of p to dst, continuing the stream
// that pw's earlier messages began.
func (pw *pooledWriter) deflate(dst, p []byte) []byte {
	pw.out.b = dst
	pw.fw.Write(p)
	pw.fw.Flush()
	out := pw.out.b
	pw.out.b = nil
	// Drop the 00 00 ff ff of the sync flush (RFC 7692 section 7.2.1).
	if n := len(out); n-len(dst) >= 4 && bytes.Equal(out[n-4:], deflateTail[:4]) {
		out = out[:n-4]
	}
	return out
}

// compress appends the permessage-deflate form of p, compressed on its
// own, to dst.
func compress(dst, p []byte, level int) []byte {
	pw := getWriter(level)
	out := pw.deflate(dst, p)
	pw.put()
	return out
}

// deflateConn is the permessage-deflate state of one connection.
type deflateConn struct {
	sendBits, recvBits uint8
	sendContext        bool          // keep the compressor between messages
	recvContext        bool          // the peer may refer back to earlier messages
	w                  *pooledWriter // the kept compressor, once one is needed
	dict               []byte        // the last 1<<recvBits inflated bytes
}

// newDeflateConn returns the state of a connection with the negotiated
// parameters; client tells which side this is and takeover whether it
// keeps its compressor when the peer allows.
func newDeflateConn(p deflateParams, client, takeover bool) *deflateConn {
	d := &deflateConn{sendBits: uint8(p.serverBits), recvBits: uint8(p.clientBits)}
	sendNoContext, recvNoContext := p.serverNoContext, p.clientNoContext
	if client {
		d.sendBits, d.recvBits = d.recvBits, d.sendBits
		sendNoContext, recvNoContext = recvNoContext, sendNoContext
	}
	d.sendContext = takeover && !sendNoContext && d.sendBits == 15
	d.recvContext = !recvNoContext
	return d
}

// compress appends the compressed form of p to dst.
func (d *deflateConn) compress(dst, p []byte, level int) []byte {
	if d.sendContext {
		if d.w == nil {
			d.w = getWriter(level)
		}
		return d.w.deflate(dst, p)
	}
	if d.sendBits < 15 && len(p) > 1<<d.sendBits {
		level = flate.HuffmanOnly
	}
	return compress(dst, p, level)
}

// decompress inflates one message, starting from the dictionary of the
// earlier ones when the peer may refer to them.
func (d *deflateConn) decompress(p []byte, limit int) ([]byte, error) {
	if !d.recvContext {
		return decompressDict(p, limit, nil)
	}
	out, err := decompressDict(p, limit, d.dict)
	if err == nil {
		d.remember(out)
	}
	return out, err
}

// remember appends an inflated message to the dictionary, keeping its
// last 1<<recvBits bytes.
func (d *deflateConn) remember(out []byte) {
	window := 1 << d.recvBits
	if d.dict == nil {
		d.dict = make([]byte, 0, window)
	}
	if len(out) >= window {
		d.dict = append(d.dict[:0], out[len(out)-window:]...)
		return
	}
	if drop := len(d.dict) + len(out) - window; drop > 0 {
		n := copy(d.dict, d.dict[drop:])
		d.dict = d.dict[:n]
	}
	d.dict = append(d.dict, out...)
}

// release gives the kept compressor back and drops the dictionary.
func (d *deflateConn) release() {
	if d.w != nil {
		d.w.put()
		d.w = nil
	}
	d.dict = nil
}

type pooledReader struct {
	fr  io.ReadCloser
	src multiSrc
}

// multiSrc reads a compressed message followed by deflateTail without
// allocating a MultiReader per message.
type multiSrc struct {
	a, b []byte
}

func (m *multiSrc) Read(p []byte) (int, error) {
	if len(m.a) > 0 {
		n := copy(p, m.a)
		m.a = m.a[n:]
		return n, nil
	}
	if len(m.b) > 0 {
		n := copy(p, m.b)
		m.b = m.b[n:]
		return n, nil
	}
	return 0, io.EOF
}

func (m *multiSrc) ReadByte() (byte, error) {
	if len(m.a) > 0 {
		c := m.a[0]
		m.a = m.a[1:]
		return c, nil
	}
	if len(m.b) > 0 {
		c := m.b[0]
		m.b = m.b[1:]
		return c, nil
	}
	return 0, io.EOF
}

// decompress inflates a permessage-deflate message into a new buffer,
// failing with errTooBig as soon as the output would pass limit bytes.
func decompress(p []byte, limit int) ([]byte, error) {
	return decompressDict(p, limit, nil)
}

// decompressDict is decompress for a message that may refer back into dict,
// the end of the messages inflated before it (context takeover).
func decompressDict(p []byte, limit int, dict []byte) ([]byte, error) {
	pr, _ := readerPool.Get().(*pooledReader)
	if pr == nil {
		pr = &pooledReader{}
		pr.src = multiSrc{a: p, b: deflateTail}
		pr.fr = flate.NewReaderDict(&pr.src, dict)
	} else {
		pr.src = multiSrc{a: p, b: deflateTail}
		pr.fr.(flate.Resetter).Reset(&pr.src, dict)
	}
	defer func() {
		pr.src = multiSrc{}
		readerPool.Put(pr)
	}()
	size := min(max(2*len(p), 512), limit+1)
	out := make([]byte, 0, size)
	for {
		if len(out) == cap(out) {
			if len(out) > limit {
				return nil, errTooBig
			}
			nc := min(2*cap(out), limit+1)
			nb := make([]byte, len(out), nc)
			copy(nb, out)
			out = nb
		}
		n, err := pr.fr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if len(out) > limit {
			return nil, errTooBig
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
