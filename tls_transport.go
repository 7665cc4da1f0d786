package workerman

import (
	"crypto/tls"
	"io"
	"net"
	"time"

	"github.com/workerman-go/workerman/internal/unix"
)

// errWouldBlock is returned by the transport's Read when no input is
// buffered.
var errWouldBlock error = wouldBlockError{}

type wouldBlockError struct{}

func (wouldBlockError) Error() string   { return "workerman: tls input would block" }
func (wouldBlockError) Timeout() bool   { return true }
func (wouldBlockError) Temporary() bool { return true }

// tlsTransport is the net.Conn crypto/tls runs over.
type tlsTransport struct {
	b         *tlsLoop
	hs        *tlsHandshake // non-nil while the handshake goroutine runs
	src       []byte        // input not yet taken by crypto/tls
	srcShared bool          // src is in the shared buffer tlsIn
	eof       bool          // the peer ended its input after src
	rec       recordCursor  // where the input stands in the record stream
	own       []byte        // holds src when it outlives a read (a partial record)
	streaming bool          // the last read was large: keep own
	full      bool          // the last read filled the room it was given
	budget    int           // what the socket may still be read for in this event
}

// tlsInSize is the size of the buffer the loop reads TLS input into,
// shared by the connections of the process (all of them run on its one
// loop). It is larger than a plain connection's read: crypto/tls makes one
// allocation each time it finds fewer than a whole record buffered and
// reads its transport, and each read takes up to the room left in its
// input buffer (about 40 KiB once grown). The more ciphertext one socket
// read brings, the fewer of those reads end short at the last, partial
// record, and the fewer system calls a bulk transfer costs.
const tlsInSize = 256 << 10

var tlsIn []byte

// tlsStreamMin is the size of a read above which a connection is taken
// to be streaming: it keeps its buffer for partial records between reads.
const tlsStreamMin = ReadChunk / 2

// fill reads the socket into the shared buffer, after the partial record
// kept from the last read.
func (t *tlsTransport) fill(fd int) (int, error) {
	if tlsIn == nil {
		tlsIn = make([]byte, tlsInSize)
	}
	if len(t.src) > len(tlsIn)/2 {
		// A large remainder (the connection paused): read after it.
		k := len(t.src)
		if cap(t.own) < k+ReadChunk {
			t.own = append(make([]byte, 0, k+ReadChunk), t.src...)
		}
		n, err := unix.Read(fd, t.own[k:cap(t.own)])
		got := max(n, 0) // -1 on an error
		t.budget -= got
		t.streaming, t.full = n >= tlsStreamMin, n == cap(t.own)-k
		t.src, t.srcShared = t.own[:k+got], false
		return n, err
	}
	k := copy(tlsIn, t.src)
	n, err := unix.Read(fd, tlsIn[k:])
	got := max(n, 0)
	t.budget -= got
	t.streaming, t.full = n >= tlsStreamMin, n == len(tlsIn)-k
	t.src, t.srcShared = tlsIn[:k+got], true
	return n, err
}

// tlsTopUp is how much input, at least, crypto/tls is handed when it
// reads its transport while the socket has more: a little more than its
// input buffer takes at once (see tlsInSize). Below that, the socket is
// read first, after what is left.
const tlsTopUp = 48 << 10

// wantsMore reports whether the socket should be read before crypto/tls
// next reads its transport: the last read filled its room, so more is
// likely waiting, and crypto/tls would otherwise take what is left in a
// read of its own, which costs it an allocation like a full one. Once the
// event's read budget is spent, the rest waits for the next event.
func (t *tlsTransport) wantsMore() bool {
	return t.full && !t.eof && t.budget > 0 && t.rec.held == 0 && len(t.src) < tlsTopUp
}

// tlsReadBudget bounds what one readiness event of a connection reads from
// its socket (the last read may go over by less than tlsInSize). Input
// that keeps coming waits for the next event, after the other ready
// connections have had theirs, as a plain connection's input does after
// one read: without the bound, a peer writing at least as fast as the
// loop decrypts would keep the loop to itself, and the other connections
// would wait until it stopped. Two buffers' worth keeps the top-up reads
// that spare crypto/tls its short reads.
const tlsReadBudget = 2 * tlsInSize

// keepInput keeps the input crypto/tls has not taken (a partial record, or
// more when the connection paused) once the shared buffer is reused.
func (t *tlsTransport) keepInput() {
	if len(t.src) == 0 {
		t.src, t.srcShared = nil, false
		if !t.streaming || cap(t.own) > tlsInSize/2 {
			t.own = nil // a quiet connection keeps no buffer
		}
		return
	}
	if t.srcShared {
		t.own = append(t.own[:0], t.src...)
		t.src, t.srcShared = t.own, false
	}
}

func (t *tlsTransport) Read(p []byte) (int, error) {
	if t.hs != nil {
		return t.hs.read(p)
	}
	if len(t.src) == 0 {
		if t.eof {
			return 0, io.EOF
		}
		return 0, errWouldBlock
	}
	n := t.rec.take(t.src, len(p))
	copy(p, t.src[:n])
	t.src = t.src[n:]
	return n, nil
}

// recordCursor follows the TLS record framing of the input handed to
// crypto/tls, so that the loop knows when a Read would find nothing to
// decrypt and does not call it: a Read that has to report errWouldBlock
// costs crypto/tls an allocation, one per message otherwise.
type recordCursor struct {
	hdr  [5]byte // header of the current record, nh bytes of it seen
	nh   int
	left int // body bytes of the current record not handed over yet
	// held counts the whole records crypto/tls was given and may not have
	// processed yet. It is exact or too high (records that carry no
	// application data), never too low: crypto/tls asks for input only
	// once it has processed every whole record it holds.
	held int
	// app counts the records of held that are of type application_data.
	app int
}

// recordTypeAppData is the TLS record type of application data (and, in
// TLS 1.3, of every encrypted record).
const recordTypeAppData = 23

// afterHandshake sets held once the handshake is done. The handshake
// ended with the record that its last read completed, and processed every
// record before it: what may be left in crypto/tls are the records of
// that read after it. Only records of type application_data can hold
// application data; in TLS 1.3 the peer's Finished is one of them too.
// Without this, held would count the handshake's last records, and the
// first Read after the handshake would find nothing and cost crypto/tls
// an allocation.
func (r *recordCursor) afterHandshake(version uint16) {
	held := r.app
	if version == tls.VersionTLS13 {
		held--
	}
	r.held, r.app = max(held, 0), 0
}

// take hands over up to max bytes of src and returns how many.
func (r *recordCursor) take(src []byte, max int) int {
	lim := min(len(src), max)
	recs, app := 0, 0
	for pos := 0; pos < lim; {
		if r.nh < len(r.hdr) {
			k := copy(r.hdr[r.nh:], src[pos:lim])
			r.nh += k
			pos += k
			if r.nh < len(r.hdr) {
				break
			}
			r.left = int(r.hdr[3])<<8 | int(r.hdr[4])
		}
		k := min(r.left, lim-pos)
		r.left -= k
		pos += k
		if r.left > 0 {
			break
		}
		r.nh = 0
		recs++
		if r.hdr[0] == recordTypeAppData {
			app++
		}
	}
	r.held, r.app = recs, app
	return lim
}

// completes reports whether src holds the rest of the current record.
func (r *recordCursor) completes(src []byte) bool {
	if r.nh == len(r.hdr) {
		return len(src) >= r.left
	}
	h := len(r.hdr) - r.nh
	if len(src) < h {
		return false
	}
	var hdr [5]byte
	copy(hdr[:], r.hdr[:r.nh])
	copy(hdr[r.nh:], src[:h])
	return len(src)-h >= int(hdr[3])<<8|int(hdr[4])
}

func (t *tlsTransport) Write(p []byte) (int, error) {
	if t.hs != nil {
		return t.hs.write(p)
	}
	return t.b.output(p)
}

// Close does nothing: the bridge owns the socket.
func (t *tlsTransport) Close() error { return nil }

func (t *tlsTransport) LocalAddr() net.Addr {
	if ap := t.b.c.localAddrPort(); ap.IsValid() {
		return net.TCPAddrFromAddrPort(ap)
	}
	return &net.UnixAddr{Net: "unix"}
}

func (t *tlsTransport) RemoteAddr() net.Addr {
	c := t.b.c
	if c.remote.IsValid() {
		return net.TCPAddrFromAddrPort(c.remote)
	}
	return &net.UnixAddr{Name: c.unixPath, Net: "unix"}
}

func (t *tlsTransport) SetDeadline(time.Time) error      { return nil }
func (t *tlsTransport) SetReadDeadline(time.Time) error  { return nil }
func (t *tlsTransport) SetWriteDeadline(time.Time) error { return nil }
