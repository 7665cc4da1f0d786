package globaldata

import (
	"bytes"
	"math"
	"strconv"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wire"
)

// DefaultAddress is where NewServer listens and Connect connects when given
// no address: the manual's port 2207, on loopback only (the server has no
// authentication; listen on a wider address deliberately).
const DefaultAddress = "127.0.0.1:2207"

// Server is the GlobalData server, Workerman's GlobalData\Server: a worker
// of one process that holds the shared variables in its memory. The
// variables live as long as that process: as in Workerman the worker is
// not Reloadable, so reload keeps it (and the data) while it replaces the
// other workers' processes; stop, restart or a crash loses the data, and
// the master's new server process starts empty.
type Server struct {
	// Worker is the server's worker: its name (GlobalDataServer) and
	// address show in status and connections. Its fields may be changed
	// before RunAll (OnWorkerStart is free for the program's own use);
	// Count must stay 1.
	Worker *workerman.Worker
	// MaxPackageSize bounds every frame the server reads, and so a key and
	// its value together; a client that sends a longer frame is
	// disconnected. 0 means 10 MiB.
	MaxPackageSize int
	// MaxSendBufferSize bounds the replies the server keeps queued for a
	// client that does not read them; past it the server stops reading
	// that client's requests until the replies are written. 0 means 16 MiB.
	MaxSendBufferSize int

	data map[string][]byte // key → JSON encoding of the value
	buf  []byte
}

// NewServer creates the GlobalData server's worker for an address such as
// "0.0.0.0:2207", "tcp://127.0.0.1:2207" or "unix:///run/app/global.sock";
// "" means DefaultAddress. Create it before RunAll, like any worker.
func NewServer(address string) *Server {
	w := workerman.NewWorker(wire.ListenAddress(address, DefaultAddress))
	w.Name = "GlobalDataServer"
	w.Count = 1
	w.Reloadable = false // reload deploys code, and must not lose the data
	w.Protocol = workerman.Frame
	s := &Server{Worker: w, data: map[string][]byte{}}
	w.OnConnect = func(c *workerman.Connection) {
		c.MaxPackageSize = orDefault(s.MaxPackageSize, 10<<20)
		c.MaxSendBufferSize = orDefault(s.MaxSendBufferSize, 16<<20)
	}
	w.OnMessage = s.onMessage
	// A client that sends requests faster than it reads the replies is
	// slowed down, never answered with gaps.
	w.OnBufferFull = func(c *workerman.Connection) { c.PauseRecv() }
	w.OnBufferDrain = func(c *workerman.Connection) { c.ResumeRecv() }
	return s
}

func orDefault(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

func (s *Server) onMessage(c *workerman.Connection, data any) {
	req, err := parseRequest(data.([]byte))
	if err != nil {
		workerman.Logger().Warn("globaldata: disconnecting a client that broke the protocol", "connection", c.ID, "remote", c.RemoteAddress(), "why", err.Error())
		c.Destroy()
		return
	}
	status, val, msg := s.apply(&req)
	s.buf = appendReply(s.buf[:0], req.id, status, val, msg)
	c.SendRaw(s.buf)
}

// null is how an absent key compares in Cas.
var null = []byte("null")

// apply performs a request on the server's data and returns the reply's
// status, value and error message.
func (s *Server) apply(r *request) (status byte, val []byte, msg string) {
	cur, ok := s.data[string(r.key)]
	switch r.op {
	case opGet:
		if !ok {
			return statusNo, nil, ""
		}
		return statusYes, cur, ""
	case opIsset:
		return yes(ok), nil, ""
	case opSet:
		s.store(r.key, cur, r.val)
		return statusYes, nil, ""
	case opUnset:
		delete(s.data, string(r.key))
		return yes(ok), nil, ""
	case opAdd:
		if ok {
			return statusNo, nil, ""
		}
		s.store(r.key, nil, r.val)
		return statusYes, nil, ""
	case opCas:
		if ok && !bytes.Equal(cur, r.old) || !ok && !bytes.Equal(null, r.old) {
			return statusNo, nil, ""
		}
		s.store(r.key, cur, r.val)
		return statusYes, nil, ""
	case opIncrement:
		if !ok {
			return statusNo, nil, ""
		}
		n, err := number(cur)
		if err != "" {
			return statusError, nil, err
		}
		sum := n + r.step
		if (r.step > 0 && sum < n) || (r.step < 0 && sum > n) {
			return statusError, nil, "increment of " + strconv.Quote(string(r.key)) + " overflows int64"
		}
		v := strconv.AppendInt(make([]byte, 0, 20), sum, 10)
		s.data[string(r.key)] = v
		return statusYes, v, ""
	}
	return statusError, nil, "unknown operation"
}

// store keeps a copy of v under key, reusing the old value's memory when
// it fits.
func (s *Server) store(key, old, v []byte) {
	if cap(old) >= len(v) && cap(old) <= 2*len(v)+64 {
		s.data[string(key)] = append(old[:0], v...)
		return
	}
	s.data[string(key)] = bytes.Clone(v)
}

func yes(b bool) byte {
	if b {
		return statusYes
	}
	return statusNo
}

// number reads a stored value for Increment: a JSON number counts as its
// value truncated to an integer, anything else as 0. A number outside the
// int64 range is an error.
func number(v []byte) (int64, string) {
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return 0, ""
	}
	if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
		return n, ""
	}
	// A fraction or an exponent; the only error left for a JSON number is
	// its range.
	f, err := strconv.ParseFloat(string(v), 64)
	f = math.Trunc(f)
	if err != nil || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, "cannot increment " + string(v) + ": outside the int64 range"
	}
	return int64(f), ""
}
