package workerman

import (
	"net/netip"
	"os"
	"time"

	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/counters"
	"github.com/workerman-go/workerman/internal/unix"
)

// acceptor accepts connections of a stream worker.
type acceptor struct {
	w       *Worker
	shared  bool // registered with AddSharedListener
	resting bool // set aside for balanceRest (see balance_linux.go)
	force   bool // take one connection whatever the balance says
	rests   int  // rests in a row without an accept
	backoff int  // timer id while accept is paused for lack of descriptors
	// requeued is when the shared listener last moved to the back of the
	// line of waiters.
	requeued time.Time
}

// acceptBatch bounds how many connections one readiness event accepts, so
// a flood cannot starve established connections.
const acceptBatch = 128

// requeueEvery bounds how often a process that accepted moves to the back
// of the line of processes waiting on a shared listener: each move costs
// two system calls, which at one per accept would be most of a short
// connection's cost. The counts stay even regardless, since a process that
// holds more than a sibling hands the next connections over (see "Fair
// accept" in balance_linux.go).
const requeueEvery = time.Millisecond

func (a *acceptor) HandleEvent(fd int, ev eventloop.Event) {
	w := a.w
	accepted := 0
	defer func() {
		if accepted > 0 && a.shared && !a.resting && w.accepting && w.fd == fd {
			if now := time.Now(); now.Sub(a.requeued) >= requeueEvery {
				a.requeued = now
				theProc().loop.RequeueSharedListener(fd)
			}
		}
	}()
	bal := w.bal
	if !a.shared {
		bal = nil
	}
	for i := 0; i < acceptBatch; i++ {
		if bal != nil {
			if a.force {
				a.force = false
			} else if i := bal.lighter(len(w.Connections)); i >= 0 {
				bal.kick(i)
				a.rest(fd)
				return
			}
		}
		nfd, remote, path, err := acceptSocket(fd)
		if err != nil {
			switch err {
			case unix.EAGAIN:
				return
			case unix.EINTR, unix.ECONNABORTED, unix.EPROTO:
				continue
			case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
				// Out of descriptors or memory: stop accepting for a moment
				// and keep serving the connections we have.
				logger().Error("accept failed; pausing accept for 100ms", "worker", w.Name, "err", os.NewSyscallError("accept4", err))
				w.PauseAccept()
				a.backoff = Timer.Once(100*time.Millisecond, func() {
					a.backoff = 0
					if w.hasFd && !w.stopped {
						w.ResumeAccept()
					}
				})
				return
			default:
				logger().Error("accept failed", "worker", w.Name, "err", os.NewSyscallError("accept4", err))
				return
			}
		}
		accepted++
		a.rests = 0
		w.serve(nfd, remote, path)
		if bal != nil {
			bal.publish(len(w.Connections), true)
		}
	}
}

// serve wraps an accepted socket in a Connection; remote is the peer of a
// TCP connection, path that of a Unix-socket one.
func (w *Worker) serve(fd int, remote netip.AddrPort, path string) {
	p := theProc()
	network := w.network()
	if network == "tcp" && !w.Socket.Nagle && !acceptedInheritsNoDelay {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	c := w.newConnection(p)
	c.fd = fd
	c.transport = network
	if network == "unix" {
		c.unixPath = path
		if c.unixPath == "" {
			c.unixPath = w.ep.path
		}
	} else {
		c.remote = remote
	}
	if w.Transport == "ssl" {
		w.serveTLS(c)
		w.trackHandshake(c)
		return
	}
	c.status = StatusEstablished
	c.events = eventloop.Readable
	var err error
	if p.loop.Completions() {
		c.ring = true
		err = p.loop.AddCompletionHandler(fd, c)
	} else {
		err = p.loop.AddHandler(fd, eventloop.Readable, c)
	}
	if err != nil {
		logger().Error("cannot watch connection", "err", err)
		unix.Close(fd)
		return
	}
	w.connected(c)
}

// newConnection returns a connection carrying the worker's settings and
// callbacks, not yet registered.
func (w *Worker) newConnection(p *procState) *Connection {
	p.nextConn++
	return &Connection{
		ID:                p.nextConn,
		Protocol:          w.Protocol,
		Worker:            w,
		MaxSendBufferSize: DefaultMaxSendBufferSize,
		MaxPackageSize:    DefaultMaxPackageSize,
		OnMessage:         w.OnMessage,
		OnClose:           w.OnClose,
		OnBufferFull:      w.OnBufferFull,
		OnBufferDrain:     w.OnBufferDrain,
		OnError:           w.OnError,
		loop:              p.loop,
		fd:                -1,
	}
}

// connected records an established connection and runs the connect hooks.
func (w *Worker) connected(c *Connection) {
	defer c.catchPanic()
	p := theProc()
	w.Connections[c.ID] = c
	p.stats.Connections++
	counters.P.Accepted++
	if o, ok := c.Protocol.(ConnectionOpener); ok {
		o.OnConnectionOpen(c)
	}
	if w.OnConnect != nil && c.status == StatusEstablished {
		w.OnConnect(c)
	}
	if cp := theChild; cp != nil && cp.drained {
		// Accepted while the process stops: it is told so at once.
		drainConn(c)
	}
}

// ConnectionOpener is implemented by protocols that act when a connection
// opens (before OnConnect), such as a client protocol sending its
// handshake.
type ConnectionOpener interface {
	OnConnectionOpen(c *Connection)
}
