package workerman

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/counters"
	"github.com/workerman-go/workerman/internal/unix"
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

// Listen starts listening and accepting on the current process's loop. RunAll
// calls it for every worker; call it yourself for a worker created inside
// OnWorkerStart.
//
// In a worker process started by the master, the socket of a worker
// created in OnWorkerStart (an inner worker) is kept by the master for the
// process's slot, and the process that replaces this one (reload, or a
// restart after it died) listens on the same socket: connections keep
// being accepted across the swap. A Listen that fails during OnWorkerStart
// fails the process's start, even if OnWorkerStart goes on: start and
// reload then report the error and the running processes keep serving.
func (w *Worker) Listen() error {
	err := w.listen()
	if cp := theChild; cp != nil && cp.starting {
		cp.noteListen(w, err)
	}
	return err
}

func (w *Worker) listen() error {
	if w.epErr != nil {
		return w.epErr
	}
	if w.accepting || w.socketName == "" {
		return nil
	}
	if err := w.openSocket(); err != nil {
		return err
	}
	if err := w.startAccepting(); err != nil {
		return err
	}
	w.stopped = false
	workersMu.Lock()
	started = append(started, w)
	workersMu.Unlock()
	return nil
}

func (w *Worker) network() string {
	switch w.Transport {
	case "udp":
		return "udp"
	case "unix":
		return "unix"
	}
	if w.ep.network == "unix" {
		return "unix"
	}
	return "tcp"
}

// openSocket opens the worker's listening socket: in a worker process
// started by the master, an inner worker's socket goes through the master
// (see openInnerSocket); otherwise it is bound here.
func (w *Worker) openSocket() error {
	if w.hasFd {
		return nil
	}
	switch w.Transport {
	case "tcp", "udp", "unix", "ssl":
	default:
		return fmt.Errorf("workerman: worker %q: unknown transport %q (tcp, udp, unix or ssl)", w.socketName, w.Transport)
	}
	if w.Transport == "ssl" && w.TLSConfig == nil {
		return fmt.Errorf("workerman: worker %q: transport ssl needs TLSConfig with a certificate", w.socketName)
	}
	if !eventloop.PollsDescriptors {
		return w.openPortable()
	}
	if k := innerKeeper(w); k != nil {
		return w.openInnerSocket(k)
	}
	return w.bindSocket()
}

// bindSocket binds and listens on a new socket.
func (w *Worker) bindSocket() error {
	ep, err := w.listenEndpoint()
	if err != nil {
		return err
	}
	fd, err := listenSocket(ep, w.Backlog, w.ReusePort, &w.Socket)
	if err != nil {
		return err
	}
	w.fd, w.hasFd = fd, true
	return nil
}

// listenEndpoint returns the address the worker's socket binds to.
func (w *Worker) listenEndpoint() (endpoint, error) {
	ep := w.ep
	ep.network = w.network()
	return w.Socket.applyBindTo(ep)
}

func (w *Worker) startAccepting() error {
	if w.pl != nil {
		w.accepting = true
		w.pl.pause(false)
		return nil
	}
	l := theProc().loop
	if w.acc == nil {
		w.acc = &acceptor{w: w}
	}
	var err error
	switch {
	case w.network() == "udp":
		err = l.AddHandler(w.fd, eventloop.Readable, udpReceiver{w})
	case w.inherited && !w.ReusePort:
		err = l.AddSharedListener(w.fd, w.acc)
		w.acc.shared = true
	default:
		err = l.AddHandler(w.fd, eventloop.Readable, w.acc)
	}
	if err != nil {
		return err
	}
	w.accepting = true
	if w.bal != nil {
		w.bal.publish(len(w.Connections), true)
	}
	return nil
}

// PauseAccept stops accepting new connections; they wait in the kernel's
// queue (or go to the worker's other processes).
func (w *Worker) PauseAccept() {
	if !w.accepting {
		return
	}
	if w.pl != nil {
		w.pl.pause(true)
	}
	l := theProc().loop
	if l.Watched(w.fd) {
		l.RemoveHandler(w.fd)
	}
	w.accepting = false
	if w.bal != nil {
		w.bal.publish(len(w.Connections), false)
	}
}

// ResumeAccept undoes PauseAccept.
func (w *Worker) ResumeAccept() error {
	if w.accepting || (!w.hasFd && w.pl == nil) {
		return nil
	}
	return w.startAccepting()
}

// Unlisten stops accepting and closes the listening socket. For an inner
// worker of a process started by the master, the master closes its copy
// too, so the address is free again.
func (w *Worker) Unlisten() {
	w.PauseAccept()
	if w.pl != nil {
		w.pl.close()
		w.pl = nil
	}
	if w.hasFd {
		if w.kept {
			w.kept = false
			if cp := theChild; cp != nil && !cp.stopping && cp.keeper != nil {
				if err := cp.keeper.release(w); err != nil {
					logger().Warn("cannot tell the master to close the socket of an inner worker", "worker", w.Name, "listen", w.socketName, "err", err)
				}
			}
		}
		unix.Close(w.fd)
		w.fd, w.hasFd = -1, false
		if w.network() == "unix" && !w.inherited {
			os.Remove(w.ep.path)
		}
	}
}

// acceptor accepts connections of a stream worker.
type acceptor struct {
	w       *Worker
	shared  bool // registered with AddSharedListener
	resting bool // set aside for balanceRest (see balance_linux.go)
	force   bool // take one connection whatever the balance says
	rests   int  // rests in a row without an accept
	backoff int  // timer id while accept is paused for lack of descriptors
}

// acceptBatch bounds how many connections one readiness event accepts, so
// a flood cannot starve established connections.
const acceptBatch = 128

func (a *acceptor) HandleEvent(fd int, ev eventloop.Event) {
	w := a.w
	accepted := 0
	defer func() {
		if accepted > 0 && a.shared && !a.resting && w.accepting && w.fd == fd {
			theProc().loop.RequeueSharedListener(fd)
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
		nfd, sa, err := acceptSocket(fd)
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
		w.serve(nfd, sa)
		if bal != nil {
			bal.publish(len(w.Connections), true)
		}
	}
}

// serve wraps an accepted socket in a Connection.
func (w *Worker) serve(fd int, sa unix.Sockaddr) {
	p := theProc()
	if w.network() == "tcp" && !w.Socket.Nagle {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	c := w.newConnection(p)
	c.fd = fd
	c.transport = w.network()
	if ua, ok := sa.(*unix.SockaddrUnix); ok {
		c.unixPath = ua.Name
		if c.unixPath == "" {
			c.unixPath = w.ep.path
		}
	} else {
		c.remote = sockaddrToAddrPort(sa)
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

// udpReceiver reads the datagrams of a UDP worker.
type udpReceiver struct{ w *Worker }

func (u udpReceiver) HandleEvent(fd int, ev eventloop.Event) {
	p := theProc()
	w := u.w
	buf := p.loop.ReadBuffer()
	for i := 0; i < acceptBatch; i++ {
		n, sa, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if err != unix.EAGAIN && err != unix.EINTR {
				logger().Error("udp receive failed", "worker", w.Name, "err", os.NewSyscallError("recvfrom", err))
			}
			return
		}
		c := w.newConnection(p)
		c.ID = 0
		p.nextConn--
		c.fd = fd
		c.transport = "udp"
		c.status = StatusEstablished
		c.udpPeer = sa
		c.remote = sockaddrToAddrPort(sa)
		w.handleDatagram(c, buf[:n])
	}
}

func (w *Worker) handleDatagram(c *Connection, data []byte) {
	p := theProc()
	if c.Protocol == nil {
		p.stats.TotalRequest++
		if c.OnMessage != nil {
			c.OnMessage(c, data)
		}
		return
	}
	for len(data) > 0 {
		n, err := c.Protocol.Input(data, c)
		if err != nil || n <= 0 || n > len(data) {
			// A datagram holds whole packages only.
			return
		}
		msg, err := c.Protocol.Decode(data[:n], c)
		data = data[n:]
		if err != nil {
			continue
		}
		p.stats.TotalRequest++
		if c.OnMessage != nil {
			c.OnMessage(c, msg)
		}
	}
}

// writeUDP sends one datagram to the connection's peer.
func (c *Connection) writeUDP(b []byte) SendResult {
	if err := unix.Sendto(c.fd, b, 0, c.udpPeer); err != nil {
		theProc().stats.SendFail++
		return SendFailed
	}
	c.bytesWritten += int64(len(b))
	return SendOK
}

// RunAll runs the program: it reads the command from os.Args (as in
// Workerman: `./app start -d`) and carries it out. Commands:
//
//	start           start in the foreground (debug mode): output goes to
//	                the terminal, Ctrl-C or closing the terminal stops all
//	start -d        start as a daemon that survives the terminal; output
//	                goes to StdoutFile (or is discarded)
//	stop [-g]       stop; -g lets connections finish first (at most
//	                GracefulStopTimeout)
//	restart [-d] [-g]
//	                stop, then start
//	reload [-g]     replace the worker processes, worker by worker, by new
//	                ones running the binary now on disk: reload deploys
//	                new code
//	status [-d] [--json]
//	                show the processes and their figures; -d refreshes
//	                every second; --json prints JSON (see StatusReport)
//	connections [--json]
//	                list every client connection (see ConnectionInfo)
//
// The exit status is ExitOK, ExitFailure, ExitUsage or ExitNotRunning.
// Programs with flags of their own pass the remaining arguments to
// RunAllArgs instead.
//
// start makes the launching process the master. The master opens the
// listening sockets and starts Count processes per worker by executing the
// program's own binary again; each inherits its worker's socket, so all
// processes of a worker share one accept queue and take even shares of the
// connections (ReusePort instead gives each its own SO_REUSEPORT socket). A worker process runs main again,
// creates the same workers in the same order, and its RunAll serves only
// its own worker, as Worker.ID 0 to Count-1, an ID it keeps when it is
// restarted or reloaded. So:
//
//   - code before RunAll runs in every process: the master, each worker
//     process, and each command such as status. Keep it to creating
//     workers and setting fields.
//   - per-process resources (database handles, timers, outbound
//     connections, inner workers) belong in OnWorkerStart.
//   - the workers must be created the same way in every run: a worker
//     process checks that its worker has the name and address the master
//     expects. Changing the list of workers needs restart, not reload.
//
// The master restarts a process that dies (logging WORKER EXIT
// UNEXPECTED with its exit status to LogFile), kills a process that does
// not stop within the stop timeout, and starts processes as User and
// Group when run as root. A reload starts all the new processes of a
// worker before its old ones stop accepting, so capacity never dips, no
// queued connection is lost, and a client an old process says goodbye to
// reconnects to a new one (see Drainer); a new process that fails to start
// fails the reload with the reason and the old ones keep serving. Workers
// with Reloadable false keep their processes and only run OnWorkerReload.
// The master holds the listening sockets, also those of inner workers
// (see Listen), so a new process always listens on the socket of the one
// it replaces. Signals (signals.go) and process titles (title.go) are
// documented with the files that handle them.
//
// What RunAll returns, and where it exits the process instead:
//
//   - start and restart in the foreground: RunAll returns nil in the
//     master once everything has stopped, so code after RunAll runs once,
//     in the master, at the end. If the start fails it returns the error,
//     after the start table's "start fail" line: a listening socket that
//     cannot be opened (errors.Is(err, syscall.EADDRINUSE), EACCES,
//     EADDRNOTAVAIL), the pid file or LogFile that cannot be opened, a
//     worker process that fails in OnWorkerStart, or a stop during the
//     start (ErrStoppedWhileStarting). Check it (log.Fatal(err) exits with
//     status 1, as the command would): a program that ignores it exits 0.
//     A start refused because the program already runs exits with
//     ExitFailure.
//   - SingleProcess: RunAll returns the error of a worker that cannot
//     listen, or nil when stopped; a command other than start exits with
//     ExitUsage.
//   - start -d: the launching process exits with ExitOK once the daemon
//     reports that every worker process started, or ExitFailure with the
//     reason on its output; the daemon master exits with the same status
//     when it stops.
//   - stop, reload, status and connections exit with ExitOK, ExitFailure
//     or ExitNotRunning; a command line that is not understood exits with
//     ExitUsage. They never return.
//   - in a worker process RunAll never returns: the process exits with
//     status 0 when it has stopped, ExitFailure when it cannot serve its
//     worker (it cannot listen, OnWorkerStart fails, the program defines
//     other workers than the master expects), 2 for a panic in
//     OnWorkerStart or, with CrashOnPanic, in a callback.
func RunAll() error {
	return RunAllArgs(os.Args[1:])
}

// RunAllArgs is RunAll with the command given explicitly, for programs that
// parse flags of their own: workerman.RunAllArgs(flag.Args()). Worker
// processes are started with the program's full original arguments, so
// they parse the same flags.
func RunAllArgs(args []string) error {
	workersMu.Lock()
	if runAllStarted {
		workersMu.Unlock()
		return errors.New("workerman: RunAll called twice")
	}
	runAllStarted = true
	ws := append([]*Worker(nil), workers...)
	workersMu.Unlock()
	// The role variables are not passed on to programs these processes run.
	if env := os.Getenv(envChild); env != "" {
		os.Unsetenv(envChild)
		runChild(env, ws)
		return nil
	}
	if os.Getenv(envDaemon) != "" {
		os.Unsetenv(envDaemon)
		os.Exit(runDaemonMaster(ws))
	}
	if os.Getenv(envMaster) != "" {
		// The foreground master, started by the start command (see
		// title.go): it already said "start in DEBUG mode".
		os.Unsetenv(envMaster)
		code := runForegroundMaster(ws)
		if code == ExitOK {
			return nil
		}
		if err := startFailed(); err != nil {
			return err
		}
		os.Exit(code)
	}
	cmd, err := parseArgs(args)
	if err != nil {
		name := filepath.Base(os.Args[0])
		fmt.Fprintf(os.Stderr, "%s: %v\n"+usageText, name, err, name)
		os.Exit(ExitUsage)
	}
	if SingleProcess || !eventloop.PollsDescriptors {
		if cmd.name != "start" || cmd.daemon {
			fmt.Fprintln(os.Stderr, singleProcessRefusal())
			os.Exit(ExitUsage)
		}
		return runSingle(ws)
	}
	code := runCLI(cmd, ws)
	if (cmd.name == "start" || cmd.name == "restart") && !(cmd.daemon || Daemonize) {
		if code == ExitOK {
			return nil
		}
		if err := startFailed(); err != nil {
			return err
		}
	}
	os.Exit(code)
	return nil
}

// runSingle serves every worker in this one process, in the foreground.
func runSingle(ws []*Worker) error {
	if !claimLoop() {
		return errors.New("workerman: the event loop runs already (StartLoop was called)")
	}
	for _, w := range ws {
		if err := w.Listen(); err != nil {
			for _, o := range ws {
				o.Unlisten()
			}
			return err
		}
	}
	l := theProc().loop
	installPanicHandler()
	stop := func(os.Signal) { StopAll() }
	l.OnSignal(syscall.SIGINT, stop)
	l.OnSignal(syscall.SIGTERM, stop)
	l.OnSignal(syscall.SIGHUP, stop)
	for _, w := range ws {
		if w.OnWorkerStart != nil {
			w.OnWorkerStart(w)
		}
	}
	l.Post(func() {
		fmt.Print(startTable(ws) + "Single process: Count is ignored. Press Ctrl+C to stop. Start success.\n")
	})
	return l.Run()
}

// StopAll stops the calling process, Workerman's Worker::stopAll: its
// workers stop accepting, run OnWorkerStop and close their connections.
// In a worker process started by the master the process then exits, and
// the master starts a fresh one in its place (useful to bound memory
// growth, like php-fpm's max_requests); elsewhere StopAll makes RunAll (or
// the loop's Run) return. It is safe to call from any goroutine.
func StopAll() {
	p := theProc()
	p.loop.Post(func() {
		if cp := theChild; cp != nil {
			cp.stop(true, StopTimeout, false)
			return
		}
		workersMu.Lock()
		ws := append([]*Worker(nil), started...)
		all := append([]*Worker(nil), workers...)
		workersMu.Unlock()
		for _, w := range all {
			if !w.accepting && w.socketName == "" {
				ws = append(ws, w)
			}
		}
		for _, w := range ws {
			w.Stop()
		}
		p.loop.DelAllTimers()
		p.loop.Stop()
	})
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
