package workerman

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/workerman-go/workerman/eventloop"
)

// The portable mode. Where the event loop polls no descriptors (Windows and
// other systems without epoll or kqueue, or any build with the
// workerman_portable tag; see eventloop.PollsDescriptors), a worker listens
// with the net package: one goroutine accepts, and every connection is a
// bridged one, read and written by goroutines as TLS connections are (see
// bridge.go). Callbacks, timers and Post still run on the one loop, with
// the same semantics.
//
// What needs descriptors is not available there: UDP workers, outbound
// AsyncTcpConnection, more than one process per program (Count, daemon,
// reload, stop and status from another terminal). RunAll runs the start
// command in one process, as SingleProcess does.

// errPortableUDP is returned by Listen for a UDP worker in the portable mode.
var errPortableUDP = fmt.Errorf("UDP workers need the event loop's descriptor poller (Linux, macOS, the BSDs), which this build (%s) lacks", runtime.GOOS)

// portableListener accepts on a goroutine and hands connections to the
// loop. While paused the goroutine does not accept, so connections wait in
// the kernel's queue.
type portableListener struct {
	w  *Worker
	ln net.Listener

	mu     sync.Mutex
	cond   sync.Cond
	paused bool
	closed bool

	// held are connections accepted just before a pause (the goroutine
	// was already waiting in Accept); the loop serves them on resume.
	held []net.Conn
}

// openPortable opens the worker's listener with the net package.
func (w *Worker) openPortable() error {
	if w.pl != nil {
		return nil
	}
	network := w.network()
	if network == "udp" {
		return fmt.Errorf("workerman: listen %s: %w", w.socketName, errPortableUDP)
	}
	addr := w.ep.hostPort()
	if network == "unix" {
		addr = w.ep.path
		if err := removeStaleUnixSocket(addr); err != nil {
			return err
		}
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return fmt.Errorf("workerman: listen %s: %w", w.socketName, err)
	}
	pl := &portableListener{w: w, ln: ln, paused: true}
	pl.cond.L = &pl.mu
	w.pl = pl
	go pl.acceptLoop(theProc())
	return nil
}

// pause stops or resumes accepting; it runs on the loop.
func (pl *portableListener) pause(on bool) {
	pl.mu.Lock()
	pl.paused = on
	pl.mu.Unlock()
	pl.cond.Broadcast()
	if !on {
		held := pl.held
		pl.held = nil
		p := theProc()
		for _, conn := range held {
			pl.w.servePortable(p, conn)
		}
	}
}

func (pl *portableListener) close() {
	pl.mu.Lock()
	pl.closed = true
	pl.mu.Unlock()
	pl.cond.Broadcast()
	for _, conn := range pl.held {
		conn.Close()
	}
	pl.held = nil
	pl.ln.Close()
	if ua, ok := pl.ln.Addr().(*net.UnixAddr); ok {
		os.Remove(ua.Name)
	}
}

func (pl *portableListener) acceptLoop(p *procState) {
	w := pl.w
	for {
		pl.mu.Lock()
		for pl.paused && !pl.closed {
			pl.cond.Wait()
		}
		closed := pl.closed
		pl.mu.Unlock()
		if closed {
			return
		}
		conn, err := pl.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors or a transient failure: keep serving the
			// connections there are and try again a little later.
			logger().Error("accept failed; pausing accept for 100ms", "worker", w.Name, "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		p.loop.Post(func() {
			if w.pl != pl || w.stopped {
				conn.Close()
				return
			}
			if !w.accepting {
				pl.held = append(pl.held, conn)
				return
			}
			w.servePortable(p, conn)
		})
	}
}

// servePortable wraps an accepted net.Conn in a bridged Connection.
func (w *Worker) servePortable(p *procState, conn net.Conn) {
	c := w.newConnection(p)
	c.transport = w.network()
	c.ext = &connExt{}
	switch a := conn.RemoteAddr().(type) {
	case *net.TCPAddr:
		c.remote = a.AddrPort()
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
	case *net.UnixAddr:
		c.unixPath = a.Name
		if c.unixPath == "" {
			c.unixPath = w.ep.path
		}
	}
	if a, ok := conn.LocalAddr().(*net.TCPAddr); ok {
		c.ext.local = a.AddrPort()
	}
	if w.Transport != "ssl" {
		b := newConnBridge(c, conn, conn)
		c.ext.bridge = b
		c.status = StatusEstablished
		b.start()
		w.connected(c)
		return
	}
	c.transport = "ssl"
	tc := tls.Server(conn, w.TLSConfig)
	b := newConnBridge(c, conn, tc)
	c.ext.bridge = b
	c.status = StatusConnecting
	w.handshakeBridged(c, tc, b)
}

// singleProcessRefusal explains why a command other than a foreground
// start is refused.
func singleProcessRefusal() string {
	if eventloop.PollsDescriptors {
		return "workerman: SingleProcess runs only `start`, in the foreground"
	}
	return "workerman: this build (" + runtime.GOOS + ", without a descriptor poller) runs only `start`, in the foreground and in one process: Count, daemon mode, reload, stop, status and connections need Linux, macOS or a BSD"
}
