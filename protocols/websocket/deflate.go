package websocket

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// permessage-deflate (RFC 7692). Both directions always run without context
// takeover, so no connection keeps a compressor or decompressor: they are
// shared through pools and an idle connection costs nothing extra.

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
	fw  *flate.Writer
	out appendWriter
}

// compress appends the permessage-deflate form of p to dst.
func compress(dst, p []byte, level int) []byte {
	if level < flate.HuffmanOnly || level > flate.BestCompression {
		level = flate.BestSpeed
	}
	pool := &writerPools[level+2]
	pw, _ := pool.Get().(*pooledWriter)
	if pw == nil {
		pw = &pooledWriter{}
		pw.fw, _ = flate.NewWriter(&pw.out, level)
	} else {
		pw.fw.Reset(&pw.out)
	}
	pw.out.b = dst
	pw.fw.Write(p)
	pw.fw.Flush()
	out := pw.out.b
	pw.out.b = nil
	pool.Put(pw)
	// Drop the 00 00 ff ff of the sync flush (RFC 7692 section 7.2.1).
	if n := len(out); n-len(dst) >= 4 && bytes.Equal(out[n-4:], deflateTail[:4]) {
		out = out[:n-4]
	}
	return out
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
	pr, _ := readerPool.Get().(*pooledReader)
	if pr == nil {
		pr = &pooledReader{}
		pr.src = multiSrc{a: p, b: deflateTail}
		pr.fr = flate.NewReader(&pr.src)
	} else {
		pr.src = multiSrc{a: p, b: deflateTail}
		pr.fr.(flate.Resetter).Reset(&pr.src, nil)
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

// extParam is one parameter of an extension offer.
type extParam struct{ name, value string }

// parseExtensions splits Sec-WebSocket-Extensions values into offers, each
// a name and its parameters. ok is false for a syntax error.
func parseExtensions(h http.Header) (offers [][]extParam, ok bool) {
	for _, v := range h.Values("Sec-Websocket-Extensions") {
		for _, off := range strings.Split(v, ",") {
			off = strings.TrimSpace(off)
			if off == "" {
				continue
			}
			var params []extParam
			for i, part := range strings.Split(off, ";") {
				part = strings.TrimSpace(part)
				name, value, hasValue := strings.Cut(part, "=")
				name = strings.TrimSpace(name)
				value = strings.TrimSpace(value)
				if hasValue && len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
					value = value[1 : len(value)-1]
				}
				if name == "" || !isToken(name) || (hasValue && (value == "" || !isToken(value))) {
					return nil, false
				}
				if i == 0 && hasValue {
					return nil, false
				}
				params = append(params, extParam{strings.ToLower(name), value})
			}
			offers = append(offers, params)
		}
	}
	return offers, true
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

func windowBits(v string) (int, bool) {
	if len(v) == 0 || len(v) > 2 || v[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 8 || n > 15 {
		return 0, false
	}
	return n, true
}

// acceptDeflate chooses the first permessage-deflate offer the server can
// take. It returns the response extension line and the window the server's
// output must fit (15 for the full 32 KiB window, less to disable
// back-references), or ok false to run without compression.
func acceptDeflate(offers [][]extParam) (resp string, serverBits int, ok bool) {
next:
	for _, off := range offers {
		if off[0].name != deflateName {
			continue
		}
		serverBits = 15
		seen := map[string]bool{}
		for _, p := range off[1:] {
			if seen[p.name] {
				continue next
			}
			seen[p.name] = true
			switch p.name {
			case "server_no_context_takeover", "client_no_context_takeover":
				if p.value != "" {
					continue next
				}
			case "server_max_window_bits":
				n, ok := windowBits(p.value)
				if !ok {
					continue next
				}
				serverBits = n
			case "client_max_window_bits":
				if p.value != "" {
					if _, ok := windowBits(p.value); !ok {
						continue next
					}
				}
			default:
				continue next
			}
		}
		resp = deflateName + "; server_no_context_takeover; client_no_context_takeover"
		if serverBits < 15 || seen["server_max_window_bits"] {
			resp += "; server_max_window_bits=" + strconv.Itoa(serverBits)
		}
		return resp, serverBits, true
	}
	return "", 0, false
}

// clientDeflateOffer is what the client asks for: no context takeover in
// either direction, so neither side keeps a compressor per connection.
const clientDeflateOffer = deflateName + "; server_no_context_takeover; client_no_context_takeover"

// checkDeflateResponse validates the server's answer to clientDeflateOffer.
// It returns whether compression is on.
func checkDeflateResponse(h http.Header) (bool, error) {
	offers, ok := parseExtensions(h)
	if !ok {
		return false, errors.New("malformed Sec-WebSocket-Extensions in response")
	}
	if len(offers) == 0 {
		return false, nil
	}
	if len(offers) > 1 || offers[0][0].name != deflateName {
		return false, errors.New("server accepted an extension that was not offered")
	}
	seen := map[string]bool{}
	for _, p := range offers[0][1:] {
		if seen[p.name] {
			return false, errors.New("duplicate permessage-deflate parameter " + p.name)
		}
		seen[p.name] = true
		switch p.name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if p.value != "" {
				return false, errors.New("permessage-deflate parameter " + p.name + " has a value")
			}
		case "server_max_window_bits":
			if _, ok := windowBits(p.value); !ok {
				return false, errors.New("bad server_max_window_bits")
			}
		default:
			return false, errors.New("unexpected permessage-deflate parameter " + p.name)
		}
	}
	if !seen["server_no_context_takeover"] {
		return false, errors.New("server did not accept server_no_context_takeover")
	}
	return true, nil
}
