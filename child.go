package workerman

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/workerman-go/workerman/internal/unix"
)

// A worker process is the program's own binary started again by the
// master, with the environment variable WORKERMAN_CHILD describing which
// worker and id it serves, and these descriptors:
const (
	childFdChannel = 3 // socketpair to the master
	childFdLog     = 4 // the master's LogFile
	childFdListen  = 5 // the worker's listening socket, when inherited
	childFdSockets = 6 // socket pair to the master for inner workers' sockets (see inner.go)
)

// childInfo is the JSON in WORKERMAN_CHILD.
type childInfo struct {
	Worker int    `json:"worker"` // index among the workers created before RunAll
	ID     int    `json:"id"`
	Name   string `json:"name"`
	Listen string `json:"listen"`
	Daemon bool   `json:"daemon"`
	Fd     bool   `json:"fd"` // the listening socket is childFdListen
	// Balance: childFdBalance is the worker's fair-accept segment.
	Balance bool `json:"balance,omitempty"`
	Master  int  `json:"master"`
}

// parseChildInfo decodes and checks WORKERMAN_CHILD.
func parseChildInfo(s string) (childInfo, error) {
	var ci childInfo
	if len(s) > 1<<16 {
		return ci, errors.New("workerman: " + envChild + " is too long")
	}
	if err := json.Unmarshal([]byte(s), &ci); err != nil {
		return ci, fmt.Errorf("workerman: bad %s: %w", envChild, err)
	}
	if ci.Worker < 0 || ci.ID < 0 || ci.ID > 1<<20 {
		return ci, fmt.Errorf("workerman: bad %s: worker %d id %d", envChild, ci.Worker, ci.ID)
	}
	return ci, nil
}

// childProc is the state of a worker process. Touched on the loop only.
type childProc struct {
	w        *Worker
	fc       *frameConn
	stopping bool
	fast     bool
	deadline time.Time
	hard     time.Time
	closed   bool
	timer    int
	// drained is set once the connections have been asked to end (see
	// Drainer); connections established later are asked at once.
	drained bool
	// stopCalled records the workers whose OnWorkerStop has run.
	stopCalled map[*Worker]bool
	// keeper reaches the master's keeping of inner workers' sockets.
	keeper *sockKeeper
	// starting is true while OnWorkerStart runs; listenErrs holds the
	// workers whose Listen failed meanwhile (and did not succeed later).
	starting   bool
	listenErrs map[*Worker]error
}

// noteListen records the outcome of a Listen during OnWorkerStart.
func (cp *childProc) noteListen(w *Worker, err error) {
	if err == nil {
		delete(cp.listenErrs, w)
		return
	}
	if cp.listenErrs == nil {
		cp.listenErrs = make(map[*Worker]error)
	}
	cp.listenErrs[w] = err
}

// startError reports the Listen failures of OnWorkerStart.
func (cp *childProc) startError() error {
	if len(cp.listenErrs) == 0 {
		return nil
	}
	var msgs []string
	for w, err := range cp.listenErrs {
		msgs = append(msgs, fmt.Sprintf("worker %s (%s) could not listen: %v", w.Name, w.socketName, err))
	}
	sort.Strings(msgs)
	return errors.New("in OnWorkerStart, " + strings.Join(msgs, "; "))
}

var theChild *childProc

// runChild serves one worker in a process started by the master. It never
// returns.
func runChild(env string, ws []*Worker) {
	ci, err := parseChildInfo(env)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(ExitFailure)
	}
	for _, fd := range []int{childFdChannel, childFdLog, childFdSockets} {
		unix.CloseOnExec(fd)
	}
	if ci.Fd {
		unix.CloseOnExec(childFdListen)
	}
	unix.SetNonblock(childFdChannel, true)
	fc := newFrameConn(os.NewFile(childFdChannel, "workerman-master"))
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		fc.Send(&ctlMsg{Type: "error", Error: err.Error()})
		flushBriefly(fc)
		os.Exit(ExitFailure)
	}
	if ci.Worker >= len(ws) {
		fail(fmt.Errorf("workerman: the program defines %d workers, the running master expects worker #%d (%s %s): the list of workers can only change with restart", len(ws), ci.Worker, ci.Name, ci.Listen))
	}
	w := ws[ci.Worker]
	if w.Name != ci.Name || w.socketName != ci.Listen {
		fail(fmt.Errorf("workerman: the program defines worker #%d as %q %q, the running master expects %q %q: the list of workers can only change with restart", ci.Worker, w.Name, w.socketName, ci.Name, ci.Listen))
	}
	Daemonize = ci.Daemon
	setChildProcs(ws)
	logFile := os.NewFile(childFdLog, "workerman-log")
	setupLogging(logFile, !ci.Daemon)
	w.ID = ci.ID
	if ci.Fd {
		w.fd, w.hasFd, w.inherited = childFdListen, true, true
	}
	if ci.Balance {
		if w.bal, err = openBalancer(w, ci.ID); err != nil {
			logger().Warn("accepting without balance", "worker", w.Name, "err", err)
		}
	}
	cp := &childProc{w: w, fc: fc, stopCalled: make(map[*Worker]bool), keeper: openKeeper(childFdSockets)}
	theChild = cp
	l := theProc().loop

	// The master decides when the processes stop: the terminal's Ctrl-C and
	// hang-up reach it too, and it tells each process.
	cp.installSignals()
	go func() {
		for {
			m, err := fc.Recv()
			if err != nil {
				l.Post(func() {
					if !cp.stopping {
						logger().Warn("the master is gone; stopping")
					}
					cp.stop(true, StopTimeout, false)
				})
				return
			}
			m.at = time.Now()
			l.Post(func() { cp.handle(m) })
		}
	}()
	if err := w.Listen(); err != nil {
		fail(err)
	}
	if w.OnWorkerStart != nil {
		cp.starting = true
		func() {
			defer func() {
				if r := recover(); r != nil {
					// Tell the master why, so the start command can say it.
					fmt.Fprintf(os.Stderr, "panic: %v\n\n%s", r, debug.Stack())
					fc.Send(&ctlMsg{Type: "error", Error: fmt.Sprintf("OnWorkerStart panicked: %v", r)})
					flushBriefly(fc)
					os.Exit(2)
				}
			}()
			w.OnWorkerStart(w)
		}()
		cp.starting = false
		if err := cp.startError(); err != nil {
			fail(err)
		}
	}
	l.Post(func() { fc.Send(&ctlMsg{Type: "ready"}) })
	installPanicHandler()
	enableMetrics()
	if err := l.Run(); err != nil {
		logger().Error("event loop failed", "err", err)
		os.Exit(ExitFailure)
	}
	cp.exit()
}

// handle runs one message from the master.
func (cp *childProc) handle(m *ctlMsg) {
	switch m.Type {
	case "stats":
		s := ProcessStats()
		// status counts the outbound connections too, as Workerman does
		// (and as connections lists them).
		conns := s.Connections + int64(len(theProc().outbound))
		cp.fc.Send(&ctlMsg{Type: "reply", Seq: m.Seq, Stats: &procStats{
			Connections: conns, TotalRequest: s.TotalRequest, SendFail: s.SendFail, Timers: s.Timers,
			Inner: cp.innerWorkers(),
		}})
	case "conns":
		cp.fc.Send(&ctlMsg{Type: "reply", Seq: m.Seq, Conns: cp.connections()})
	case "metrics":
		cp.fc.Send(&ctlMsg{Type: "reply", Seq: m.Seq, Metrics: takeMetrics(m.at)})
	case "stop":
		cp.stop(!m.Graceful, time.Duration(m.IntervalMS)*time.Millisecond, false)
	case "retire":
		if cp.w.OnWorkerReload != nil && !cp.stopping {
			cp.w.OnWorkerReload(cp.w)
		}
		cp.stop(false, time.Duration(m.IntervalMS)*time.Millisecond, true)
	case "reload":
		if cp.w.OnWorkerReload != nil {
			cp.w.OnWorkerReload(cp.w)
		}
	}
}

// processWorkers lists the workers of this process: its own and those
// started inside it (in OnWorkerStart).
func (cp *childProc) processWorkers() []*Worker {
	workersMu.Lock()
	ws := append([]*Worker(nil), started...)
	workersMu.Unlock()
	for _, w := range ws {
		if w == cp.w {
			return ws
		}
	}
	return append([]*Worker{cp.w}, ws...)
}

// innerWorkers describes the workers this process listens on besides its
// own.
func (cp *childProc) innerWorkers() []InnerWorkerStatus {
	var out []InnerWorkerStatus
	for _, w := range cp.processWorkers() {
		if w == cp.w || !w.hasFd {
			continue
		}
		out = append(out, InnerWorkerStatus{Name: w.Name, Listen: listenName(w), Connections: len(w.Connections)})
	}
	return out
}

func (cp *childProc) connections() []ConnectionInfo {
	pid := os.Getpid()
	out := []ConnectionInfo{}
	for _, w := range cp.processWorkers() {
		for _, c := range w.Connections {
			out = append(out, connectionInfo(c, pid))
		}
	}
	for _, c := range theProc().outbound {
		out = append(out, connectionInfo(c, pid))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// stop ends the process. fast closes every connection now (stop);
// otherwise connections get until timeout to finish on their own (stop -g,
// reload) and are closed then. retire reports to the master once the
// process has stopped accepting. The process exits as soon as its last
// connection has gone, or a moment after the deadline.
func (cp *childProc) stop(fast bool, timeout time.Duration, retire bool) {
	now := time.Now()
	if cp.stopping {
		if fast && !cp.fast {
			cp.fast = true
			cp.closeAll(now)
		}
		return
	}
	cp.stopping = true
	cp.fast = fast
	ws := cp.processWorkers()
	for _, w := range ws {
		stopAccepting(w)
	}
	if retire {
		cp.fc.Send(&ctlMsg{Type: "paused"})
	}
	// OnWorkerStop runs now; w.stopped stays false until the process exits,
	// so that TLS handshakes already begun still complete and are served.
	for _, w := range ws {
		if !cp.stopCalled[w] {
			cp.stopCalled[w] = true
			if w.OnWorkerStop != nil {
				w.OnWorkerStop(w)
			}
		}
	}
	cp.drained = true
	for _, w := range cp.processWorkers() {
		for _, c := range w.Connections {
			drainConn(c)
		}
	}
	if fast {
		timeout = 0
	}
	cp.deadline = now.Add(timeout)
	if fast {
		cp.closeAll(now)
	}
	l := theProc().loop
	cp.timer = l.AddTimer(10*time.Millisecond, true, cp.check)
	cp.check()
}

// closeAll closes every connection, flushing what is queued; the process
// exits when they are gone, or half a second later at most.
func (cp *childProc) closeAll(now time.Time) {
	cp.closed = true
	cp.hard = now.Add(min(StopTimeout/2, killSlack/2))
	for _, w := range cp.processWorkers() {
		for _, c := range w.Connections {
			c.Close()
		}
	}
}

func (cp *childProc) check() {
	n := 0
	for _, w := range cp.processWorkers() {
		n += len(w.Connections) + w.pendingHandshakes()
	}
	if n == 0 {
		cp.exit()
	}
	now := time.Now()
	if !cp.closed && !now.Before(cp.deadline) {
		cp.closeAll(now)
	}
	if cp.closed && !now.Before(cp.hard) {
		for _, w := range cp.processWorkers() {
			for _, c := range w.Connections {
				c.destroy()
			}
		}
		cp.exit()
	}
}

// exit ends the process after a stop.
func (cp *childProc) exit() {
	flushBriefly(cp.fc)
	os.Exit(0)
}

// flushBriefly gives queued messages to the master a moment to leave.
func flushBriefly(fc *frameConn) {
	done := make(chan struct{})
	go func() { fc.Flush(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
}

// stopAccepting stops a worker from taking new connections without losing
// any the kernel has queued for this process. The socket is first removed
// from the loop, so the kernel wakes the worker's other processes for new
// connections; what may already have been signalled to this process alone
// is then accepted and served here; then the process's copy of the socket
// is closed.
func stopAccepting(w *Worker) {
	if !w.hasFd {
		return
	}
	if w.network() == "udp" {
		w.Unlisten()
		return
	}
	w.PauseAccept()
	for i := 0; i < 4096; i++ {
		nfd, remote, path, err := acceptSocket(w.fd)
		if err != nil {
			if err == unix.EINTR || err == unix.ECONNABORTED {
				continue
			}
			break
		}
		w.serve(nfd, remote, path)
	}
	w.Unlisten()
}

// trackHandshake notes a TLS connection whose handshake has begun. Only
// worker processes started by the master keep the list; it is pruned as
// it grows.
func (w *Worker) trackHandshake(c *Connection) {
	if theChild == nil {
		return
	}
	if len(w.handshaking) >= 64 {
		w.pendingHandshakes()
	}
	w.handshaking = append(w.handshaking, c)
}

// pendingHandshakes returns how many TLS handshakes of the worker are in
// progress, forgetting those that have ended (the connection joined
// Connections, or was closed).
func (w *Worker) pendingHandshakes() int {
	keep := w.handshaking[:0]
	for _, c := range w.handshaking {
		if c.status == StatusConnecting {
			keep = append(keep, c)
		}
	}
	clear(w.handshaking[len(keep):])
	w.handshaking = keep
	return len(keep)
}

// errNoMaster is returned by Reload outside a worker process.
var errNoMaster = errors.New("workerman: not running under a master (Reload works in the processes RunAll starts)")

// Reload asks the master to reload every worker, as the reload command
// does (reload -g when graceful is true). Call it from a worker process,
// on the loop or from any goroutine; FileMonitor uses it.
func Reload(graceful bool) error {
	cp := theChild
	if cp == nil {
		return errNoMaster
	}
	cp.fc.Send(&ctlMsg{Type: "reload", Graceful: graceful})
	return nil
}

// Stopping reports whether the calling worker process is stopping (for
// stop, reload or StopAll): it accepts no more connections and is letting
// the ones it has finish. Protocols use it to end persistent connections
// after the request in progress, as an HTTP server answers with
// "Connection: close". Call it on the loop.
func Stopping() bool {
	cp := theChild
	return cp != nil && cp.stopping
}

// IsWorkerProcess reports whether the calling process is a worker process
// started by the master (rather than the master, a command, or a program
// that never called RunAll).
func IsWorkerProcess() bool { return theChild != nil }

// setChildProcs sizes the Go runtime of a worker process. A process runs
// its callbacks on one goroutine, and the master starts as many processes
// as the workers' Counts add up to; with the default GOMAXPROCS each of
// them would keep a processor per CPU, and their idle processors, spinning
// threads and garbage collector workers compete with the other processes
// for the same cores. So a worker process gets its share of the CPUs, at
// least one: GOMAXPROCS = CPUs / processes. Setting the GOMAXPROCS
// environment variable overrides this, for programs that do CPU-heavy work
// on goroutines of their own.
func setChildProcs(ws []*Worker) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	total := 0
	for _, w := range ws {
		total += max(1, w.Count)
	}
	runtime.GOMAXPROCS(max(1, runtime.GOMAXPROCS(0)/max(1, total)))
}
