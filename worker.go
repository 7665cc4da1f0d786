package workerman

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/workerman-go/workerman/internal/counters"
)

// Worker is a listening service of the process, Workerman's Worker class:
// it accepts connections on one address and runs its callbacks for them.
//
// Set the fields before RunAll (or before Listen, for a worker created inside
// OnWorkerStart). Callbacks run on the process's event loop, one at a time.
type Worker struct {
	// ID is the number of this process among the worker's Count processes,
	// 0 to Count-1. It stays the same when a process is restarted.
	ID int
	// Count is the number of processes that serve this worker. They share
	// one accept queue that keeps their shares of open connections even;
	// when load still looks uneven across them, see ReusePort.
	Count int
	// Name names the worker in status output and logs.
	Name string
	// Protocol decodes and encodes the worker's connections; set from the
	// address scheme, and may be set to a registered protocol by hand (for
	// example for a unix:// worker).
	Protocol Protocol
	// Transport is "tcp", "udp", "unix" or "ssl"; set from the address and
	// changeable before listening ("ssl" needs TLSConfig).
	Transport string
	// ReusePort gives each process its own SO_REUSEPORT socket instead of
	// one shared accept queue: the kernel spreads new connections over the
	// processes by a hash of their addresses, so the shares are even only
	// on average. With the shared queue (the default) the processes of a
	// worker keep their shares of open connections even: a process takes a
	// connection only while no sibling that accepts holds fewer (see
	// "Fair accept" in balance_linux.go); when load looks uneven, check
	// the processes' connections with the status command before reaching
	// for ReusePort. The master opens the sockets, one per process ID, and a process that
	// replaces another (reload, restart) inherits its socket, so nothing
	// queued on it is lost; as with a shared queue, the connections the
	// kernel gives the socket of a process being restarted wait for the
	// new process.
	ReusePort bool
	// Backlog is the listen backlog; 0 means DefaultBacklog.
	Backlog int
	// Socket holds the manual's other socket context options
	// (ipv6_v6only, so_reuseaddr, tcp_nodelay, so_broadcast, bindto).
	Socket SocketOptions
	// TLSConfig configures the "ssl" transport.
	TLSConfig *tls.Config
	// User and Group are the account the worker's processes run as when the
	// program is started as root.
	User, Group string
	// Reloadable false keeps the worker's processes across reload; they only
	// run OnWorkerReload.
	Reloadable bool
	// Connections holds the worker's open client connections of this
	// process by ID. Read it on the loop only; it is safe to close
	// connections while ranging over it.
	Connections map[int]*Connection

	// OnWorkerStart runs when a process of the worker starts, before it
	// accepts connections. Open per-process resources (database handles,
	// timers, inner workers) here.
	OnWorkerStart func(w *Worker)
	// OnWorkerStop runs when the process stops (stop, stop -g, reload,
	// StopAll, a TERM or QUIT signal), once it no longer accepts and
	// before its connections are told to end: what it sends them goes
	// first.
	OnWorkerStop func(w *Worker)
	// OnWorkerReload runs when the process receives a reload: in a
	// process that is replaced, just before OnWorkerStop; in a process of a
	// worker that is not Reloadable, instead.
	OnWorkerReload func(w *Worker)
	// OnConnect runs when a client connects (for TCP, after the TCP
	// handshake; UDP has no connections).
	OnConnect func(c *Connection)
	// OnMessage receives each message; see Connection.OnMessage.
	OnMessage func(c *Connection, data any)
	// OnClose runs once for each connection that ends.
	OnClose func(c *Connection)
	// OnBufferFull runs when a connection's send buffer fills.
	OnBufferFull func(c *Connection)
	// OnBufferDrain runs when a connection's send buffer has been written.
	OnBufferDrain func(c *Connection)
	// OnError reports a connection error with a code and message.
	OnError func(c *Connection, code int, msg string)

	socketName string
	ep         endpoint
	epErr      error
	fd         int
	hasFd      bool              // fd is a live listening socket
	pl         *portableListener // the listener where the loop polls no descriptors
	inherited  bool              // fd is shared with the master (and so with other processes)
	kept       bool              // fd is an inner worker's socket that the master keeps
	accepting  bool
	acc        *acceptor
	bal        *balancer // fair accept among the worker's processes, or nil
	stopped    bool
	// handshaking holds the TLS connections of a worker process whose
	// handshake is in progress, so that a process that stops waits for
	// them (see trackHandshake).
	handshaking []*Connection
}

var (
	workersMu     sync.Mutex
	workers       []*Worker // created before RunAll, in order
	runAllStarted bool
	started       []*Worker // listening in this process
)

// NewWorker creates a worker for an address such as "tcp://0.0.0.0:8686",
// "text://127.0.0.1:5678", "udp://0.0.0.0:1234", "unix:///run/app.sock",
// "http://[::]:80", "websocket://:::2000" or a scheme registered with
// RegisterProtocol. An empty address creates a worker that listens on
// nothing (for timers or outbound connections).
//
// A bad address is reported by Listen or RunAll. ws:// and wss:// are
// refused: they are the client side of WebSocket, for outbound
// connections; a WebSocket server listens on websocket://.
func NewWorker(address string) *Worker {
	w := &Worker{
		Count:       1,
		Name:        "none",
		Reloadable:  true,
		Connections: make(map[int]*Connection),
		socketName:  address,
		fd:          -1,
	}
	if address != "" {
		w.ep, w.epErr = parseEndpoint(address)
		if w.epErr == nil {
			w.Transport = w.ep.network
			switch w.ep.scheme {
			case "tcp", "udp", "unix":
			case "ws", "wss":
				// The manual's ws:// is the client side of WebSocket.
				w.epErr = fmt.Errorf("workerman: address %q: %s:// is the WebSocket client scheme, for outbound connections (NewAsyncTcpConnection); a WebSocket server listens on websocket://%s", address, w.ep.scheme, w.ep.hostPort())
			default:
				if p, ok := LookupProtocol(w.ep.scheme); ok {
					w.Protocol = p
				} else {
					w.epErr = fmt.Errorf("workerman: address %q: unknown protocol %q (register it with workerman.RegisterProtocol, or import the package that provides it)", address, w.ep.scheme)
				}
			}
		}
	}
	workersMu.Lock()
	if !runAllStarted {
		workers = append(workers, w)
	}
	workersMu.Unlock()
	return w
}

// SocketName returns the address the worker was created with.
func (w *Worker) SocketName() string { return w.socketName }

// Addr returns the address the worker listens on (with the real port when
// it was created with port 0), or nil.
func (w *Worker) Addr() net.Addr {
	if w.pl != nil {
		return w.pl.ln.Addr()
	}
	if !w.hasFd {
		return nil
	}
	return socketAddr(w.fd, w.Transport)
}

// Stop stops this worker in the current process: it closes the listening
// socket, runs OnWorkerStop and closes the worker's connections. Call it on
// the loop.
func (w *Worker) Stop() {
	if w.stopped {
		return
	}
	w.stopped = true
	w.Unlisten()
	if w.OnWorkerStop != nil {
		w.OnWorkerStop(w)
	}
	for _, c := range w.Connections {
		c.closeWhy = counters.CloseStop
		c.destroy()
	}
}

// String describes the worker for logs.
func (w *Worker) String() string {
	return strings.TrimSpace(fmt.Sprintf("%s %s", w.Name, w.socketName))
}
