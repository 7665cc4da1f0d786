package workerman

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/user"
	"runtime"
	"sort"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/workerman-go/workerman/eventloop"
	"golang.org/x/sys/unix"
)

// The master process starts and supervises the worker processes. It runs
// no user callbacks: it owns the listening sockets, re-executes the
// program's own binary once per process with the worker's socket
// inherited, restarts processes that die, performs rolling reloads, and
// answers the command line on its control socket. Everything it does runs
// on its event loop.

const (
	mStarting = iota
	mRunning
	mStopping
)

// killSlack is how long the master waits past a stop deadline before it
// kills a process that has not exited.
const killSlack = time.Second

type master struct {
	// replying counts control requests read and not yet answered.
	replying atomic.Int32
	p        paths
	ws       []*Worker
	exe      string
	argv     []string
	env      []string
	loop     *eventloop.Loop
	log      *slog.Logger
	// fileLog writes to LogFile only, for what the terminal shows anyway.
	fileLog *slog.Logger
	daemon  bool
	report  *frameConn // daemon: the launching terminal, until start ends

	lock    *os.File // the pid file, locked while the master lives
	logFile *os.File
	ctl     *net.UnixListener
	creds   []*syscall.Credential // per worker; nil keeps the master's user
	devnull *os.File

	state        int
	stopGraceful bool
	startErr     error
	startTime    time.Time
	startTimer   int
	readyCount   int
	total        int

	slots    [][]*slot
	children map[int]*child
	exits    []map[int]int
	seq      uint64
	samples  map[int]sample

	reloadCur, reloadNext *reloadRun
	ctlWaiters            map[*func(*ctlMsg)]struct{}
	done                  chan struct{}
}

// slot is one (worker, id) position: the process serving it, and during a
// reload or a restart the process about to take over.
type slot struct {
	cur, next *child
	failures  int
	timer     int
}

// child is a worker process as the master sees it.
type child struct {
	w, id     int
	pid       int
	proc      *os.Process
	fc        *frameConn
	started   time.Time
	ready     bool
	retiring  bool
	killTimer int
	errText   string
	pending   map[uint64]func(*ctlMsg)
	onReady   func()
	onFail    func(reason string)
	onPaused  func()
}

type reloadRun struct {
	graceful bool
	queue    []*child
	waiters  []func(*ctlMsg)
}

// runMaster runs the master until it stops and returns the exit status of
// the start command. report is the daemon's channel to the terminal that
// launched it, nil in the foreground.
func runMaster(p paths, ws []*Worker, daemon bool, report *frameConn) int {
	m := &master{
		p:          p,
		ws:         ws,
		loop:       theProc().loop,
		daemon:     daemon,
		report:     report,
		children:   make(map[int]*child),
		samples:    make(map[int]sample),
		ctlWaiters: make(map[*func(*ctlMsg)]struct{}),
		done:       make(chan struct{}),
		startTime:  time.Now(),
	}
	if err := m.prepare(); err != nil {
		m.cleanup()
		m.out(fmt.Sprintf("Workerman[%s] start fail: %v\n", p.name, err))
		if m.fileLog != nil {
			m.fileLog.Error("start failed", "err", err)
		}
		m.result(ExitFailure)
		return ExitFailure
	}
	m.installSignals()
	m.loop.Post(m.startAll)
	if err := m.loop.Run(); err != nil {
		m.log.Error("master event loop failed", "err", err)
	}
	close(m.done)
	// Let the answers to commands already read (stop's "ok") reach their
	// command lines before the process exits.
	for deadline := time.Now().Add(2 * time.Second); m.replying.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if m.startErr != nil {
		m.out(fmt.Sprintf("Workerman[%s] start fail: %v\n", p.name, m.startErr))
		m.result(ExitFailure)
		return ExitFailure
	}
	if m.state == mStopping && m.readyCount < m.total {
		// Stopped (by a signal or the stop command) before the start ended.
		m.out(fmt.Sprintf("Workerman[%s] start fail: stopped while starting\n", p.name))
		m.result(ExitFailure)
		return ExitFailure
	}
	return ExitOK
}

// out shows text on the terminal that started the program.
func (m *master) out(s string) {
	if m.report != nil {
		m.report.Send(&ctlMsg{Type: "out", Text: s})
		return
	}
	if !m.daemon {
		fmt.Print(s)
	}
}

// result ends the daemon's start report.
func (m *master) result(code int) {
	if m.report == nil {
		return
	}
	m.report.Send(&ctlMsg{Type: "result", Code: code})
	done := make(chan struct{})
	go func() { m.report.Flush(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	m.report.Close()
	m.report = nil
}

// prepare takes the pid file, opens the log, resolves users and the
// binary, opens the listening sockets and the control socket.
func (m *master) prepare() error {
	var err error
	if m.lock, err = lockPidFile(m.p.pid); err != nil {
		return err
	}
	if m.logFile, err = os.OpenFile(m.p.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
		return fmt.Errorf("cannot open the log file: %w (set workerman.LogFile to a writable path)", err)
	}
	m.log, m.fileLog = setupLogging(m.logFile, !m.daemon)
	if m.devnull, err = os.Open(os.DevNull); err != nil {
		return err
	}
	if m.exe, err = programPath(); err != nil {
		return fmt.Errorf("cannot find the program's executable: %w", err)
	}
	m.argv = append([]string(nil), os.Args...)
	for _, kv := range os.Environ() {
		if !hasEnvKey(kv, envChild) && !hasEnvKey(kv, envDaemon) {
			m.env = append(m.env, kv)
		}
	}
	if len(m.ws) == 0 {
		return errors.New("no worker: create workers with workerman.NewWorker before RunAll")
	}
	m.creds = make([]*syscall.Credential, len(m.ws))
	for i, w := range m.ws {
		if w.epErr != nil {
			return w.epErr
		}
		if w.Count < 1 {
			w.Count = 1
		}
		if m.creds[i], err = credentialFor(w); err != nil {
			return err
		}
		if err := m.openListener(w); err != nil {
			return err
		}
		m.total += w.Count
	}
	return m.openControl()
}

func hasEnvKey(kv, key string) bool {
	return len(kv) > len(key) && kv[:len(key)] == key && kv[len(key)] == '='
}

// lockPidFile creates and locks the pid file and writes the process id.
func lockPidFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot create the pid file: %w (set workerman.PidFile to a writable path)", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("already running: another master holds the pid file %s", path)
		}
		return nil, fmt.Errorf("cannot lock the pid file %s: %w", path, err)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot write the pid file %s: %w", path, err)
	}
	return f, nil
}

// credentialFor resolves the account a worker's processes run as.
func credentialFor(w *Worker) (*syscall.Credential, error) {
	if w.User == "" && w.Group == "" {
		return nil, nil
	}
	name := w.User
	if name == "" {
		u, err := user.Current()
		if err != nil {
			return nil, err
		}
		name = u.Username
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("worker %s: user %q: %w", w.Name, name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if w.Group != "" {
		g, err := user.LookupGroup(w.Group)
		if err != nil {
			return nil, fmt.Errorf("worker %s: group %q: %w", w.Name, w.Group, err)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	if os.Geteuid() != 0 {
		if uid != os.Geteuid() || gid != os.Getegid() {
			logger().Warn("workers can only change user and group when the program runs as root; running as the current user", "worker", w.Name, "user", w.User, "group", w.Group)
		}
		return nil, nil
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if n, err := strconv.Atoi(s); err == nil {
				cred.Groups = append(cred.Groups, uint32(n))
			}
		}
	}
	return cred, nil
}

// openListener opens a worker's listening socket in the master, to be
// inherited by its processes. A ReusePort worker's processes each bind
// their own; the master only checks that binding works, so that a start
// fails with a clear message rather than with processes that keep dying.
func (m *master) openListener(w *Worker) error {
	if w.socketName == "" {
		return nil
	}
	if w.Transport == "ssl" && w.TLSConfig == nil {
		return fmt.Errorf("workerman: worker %q: transport ssl needs TLSConfig with a certificate", w.socketName)
	}
	if w.ReusePort {
		return probeBind(w)
	}
	return w.openSocket()
}

// probeBind binds (without listening) a SO_REUSEPORT socket like the ones
// a ReusePort worker's processes will listen on.
func probeBind(w *Worker) error {
	if w.network() == "unix" {
		return errors.New("workerman: worker " + w.socketName + ": ReusePort needs an IP address")
	}
	ip, err := w.ep.resolve()
	if err != nil {
		return err
	}
	sa, family := sockaddrOf(netip.AddrPortFrom(ip, uint16(w.ep.port)))
	stype := unix.SOCK_STREAM
	if w.network() == "udp" {
		stype = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(family, stype|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	if family == unix.AF_INET6 {
		unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0)
	}
	if err := unix.Bind(fd, sa); err != nil {
		return bindError(w.ep, err)
	}
	return nil
}

// openControl opens the control socket beside the pid file, readable and
// writable by the master's user only.
func (m *master) openControl() error {
	if c, err := net.DialTimeout("unix", m.p.sock, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("already running: a master answers on the control socket %s", m.p.sock)
	}
	os.Remove(m.p.sock)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: m.p.sock, Net: "unix"})
	if err != nil {
		return fmt.Errorf("cannot open the control socket: %w", err)
	}
	if err := os.Chmod(m.p.sock, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("cannot restrict the control socket: %w", err)
	}
	m.ctl = ln
	go m.serveControl(ln)
	return nil
}

// cleanup releases what prepare took; the pid file goes last.
func (m *master) cleanup() {
	for i, w := range m.ws {
		if w.hasFd {
			unix.Close(w.fd)
			w.fd, w.hasFd = -1, false
			if w.network() == "unix" {
				os.Remove(w.ep.path)
			}
		}
		_ = i
	}
	if m.ctl != nil {
		m.ctl.Close()
		m.ctl = nil
	}
	if m.lock != nil {
		// The lock itself stays until the process exits: the stop command
		// waits for it to know that the master is gone.
		os.Remove(m.p.pid)
	}
}

func (m *master) installSignals() {
	m.loop.OnSignal(syscall.SIGINT, func(os.Signal) { m.stop(false) })
	m.loop.OnSignal(syscall.SIGTERM, func(os.Signal) { m.stop(false) })
	m.loop.OnSignal(syscall.SIGHUP, func(os.Signal) { m.stop(false) })
	m.loop.OnSignal(syscall.SIGQUIT, func(os.Signal) { m.stop(true) })
	m.loop.OnSignal(syscall.SIGUSR1, func(os.Signal) { m.reload(false, nil) })
	m.loop.OnSignal(syscall.SIGUSR2, func(os.Signal) { m.reload(true, nil) })
}

// startAll starts every process and waits for all of them to get ready.
func (m *master) startAll() {
	m.slots = make([][]*slot, len(m.ws))
	m.exits = make([]map[int]int, len(m.ws))
	for wi, w := range m.ws {
		m.exits[wi] = make(map[int]int)
		m.slots[wi] = make([]*slot, w.Count)
		for id := range m.slots[wi] {
			m.slots[wi][id] = &slot{}
		}
	}
	m.startTimer = m.loop.AddTimer(StartTimeout, false, func() {
		m.startTimer = 0
		if m.state == mStarting {
			m.startFailed(fmt.Errorf("not every process got ready within %v (StartTimeout); is OnWorkerStart blocking?", StartTimeout))
		}
	})
	for wi, w := range m.ws {
		for id := 0; id < w.Count; id++ {
			c, err := m.spawn(wi, id)
			if err != nil {
				m.startFailed(err)
				return
			}
			m.slots[wi][id].cur = c
			c.onReady = m.oneReady
		}
	}
}

func (m *master) oneReady() {
	m.readyCount++
	if m.state != mStarting || m.readyCount < m.total {
		return
	}
	m.state = mRunning
	if m.startTimer != 0 {
		m.loop.DelTimer(m.startTimer)
		m.startTimer = 0
	}
	table := startTable(m.ws)
	if m.daemon {
		m.out(table + fmt.Sprintf("Input \"%s stop\" to stop. Start success.\n\n", os.Args[0]))
		m.result(ExitOK)
	} else {
		m.out(table + "Press Ctrl+C to stop. Start success.\n")
	}
	m.log.Info(fmt.Sprintf("Workerman[%s] started", m.p.name), "workers", len(m.ws), "processes", m.total, "daemon", m.daemon)
}

func (m *master) startFailed(err error) {
	if m.startErr == nil {
		m.startErr = err
		m.fileLog.Error("start failed", "err", err)
	}
	m.stop(false)
}

// spawn starts one process of worker wi with id.
func (m *master) spawn(wi, id int) (*child, error) {
	w := m.ws[wi]
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socketpair", err)
	}
	info := childInfo{
		Worker: wi, ID: id, Name: w.Name, Listen: w.socketName,
		Daemon: m.daemon, Fd: w.hasFd && !w.ReusePort, Master: os.Getpid(),
	}
	b, _ := json.Marshal(info)
	env := append(append([]string(nil), m.env...), envChild+"="+string(b))
	stdin := uintptr(0)
	if m.daemon {
		stdin = m.devnull.Fd()
	}
	files := []uintptr{stdin, 1, 2, uintptr(fds[1]), m.logFile.Fd()}
	if info.Fd {
		files = append(files, uintptr(w.fd))
	}
	pid, err := syscall.ForkExec(m.exe, m.argv, &syscall.ProcAttr{
		Env:   env,
		Files: files,
		Sys:   &syscall.SysProcAttr{Credential: m.creds[wi]},
	})
	unix.Close(fds[1])
	if err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("cannot start a process of worker %s: %w", w.Name, err)
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		unix.Close(fds[0])
		unix.Kill(pid, unix.SIGKILL)
		return nil, err
	}
	unix.SetNonblock(fds[0], true)
	c := &child{
		w: wi, id: id, pid: pid, proc: proc,
		fc:      newFrameConn(os.NewFile(uintptr(fds[0]), "workerman-child")),
		started: time.Now(),
		pending: make(map[uint64]func(*ctlMsg)),
	}
	m.children[pid] = c
	go func() {
		for {
			msg, err := c.fc.Recv()
			if err != nil {
				return
			}
			m.loop.Post(func() { m.onChildMsg(c, msg) })
		}
	}()
	go func() {
		st, err := proc.Wait()
		var ws syscall.WaitStatus
		if err == nil {
			ws, _ = st.Sys().(syscall.WaitStatus)
		}
		m.loop.Post(func() { m.onChildExit(c, ws) })
	}()
	return c, nil
}

func (m *master) onChildMsg(c *child, msg *ctlMsg) {
	switch msg.Type {
	case "ready":
		if c.ready {
			return
		}
		c.ready = true
		if m.slots[c.w][c.id].cur == c {
			m.slots[c.w][c.id].failures = 0
		}
		if f := c.onReady; f != nil {
			c.onReady = nil
			f()
		}
	case "error":
		c.errText = msg.Error
	case "paused":
		if f := c.onPaused; f != nil {
			c.onPaused = nil
			f()
		}
	case "reply":
		if f := c.pending[msg.Seq]; f != nil {
			delete(c.pending, msg.Seq)
			f(msg)
		}
	case "reload":
		m.reload(msg.Graceful, nil)
	case "stopall":
		m.stop(msg.Graceful)
	}
}

// describeExit explains a wait status.
func describeExit(ws syscall.WaitStatus) string {
	switch {
	case ws.Signaled():
		return fmt.Sprintf("killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	case ws.Exited() && ws.ExitStatus() == 2:
		return "exit code 2: a panic or a fatal runtime error"
	case ws.Exited():
		return fmt.Sprintf("exit code %d", ws.ExitStatus())
	}
	return "status " + strconv.Itoa(int(ws))
}

func (m *master) onChildExit(c *child, ws syscall.WaitStatus) {
	delete(m.children, c.pid)
	if c.killTimer != 0 {
		m.loop.DelTimer(c.killTimer)
		c.killTimer = 0
	}
	c.fc.Close()
	status := int(ws)
	m.exits[c.w][status]++
	for seq, f := range c.pending {
		delete(c.pending, seq)
		f(nil)
	}
	w := m.ws[c.w]
	sl := m.slots[c.w][c.id]
	reason := describeExit(ws)
	if c.errText != "" {
		reason += ": " + c.errText
	}
	switch {
	case m.state == mStopping:
		if status != 0 {
			m.log.Info("process exited", "worker", w.Name, "id", c.id, "worker_pid", c.pid, "status", status, "reason", reason)
		}
		if len(m.children) == 0 {
			m.finish()
		}
		return
	case m.state == mStarting:
		where := "above"
		if m.daemon {
			where = "in StdoutFile"
			if StdoutFile == "" {
				where = "discarded: set StdoutFile to keep it"
			}
		}
		m.startFailed(fmt.Errorf("process %d of worker %s exited while starting (%s; its output is %s)", c.pid, w.Name, reason, where))
		return
	case sl.next == c:
		sl.next = nil
		if f := c.onFail; f != nil {
			c.onFail = nil
			f(reason)
		}
		return
	case c.retiring:
		if status != 0 {
			m.log.Warn("process exited", "worker", w.Name, "id", c.id, "worker_pid", c.pid, "status", status, "reason", reason)
		}
		if f := c.onPaused; f != nil {
			c.onPaused = nil
			f()
		}
		return
	}
	// A serving process died on its own.
	m.log.Error("WORKER EXIT UNEXPECTED", "worker", w.Name, "id", c.id, "worker_pid", c.pid, "status", status, "reason", reason)
	if sl.cur == c {
		sl.cur = nil
		if sl.next == nil {
			m.respawn(c.w, c.id, time.Since(c.started), c.ready)
		}
	}
}

// respawn replaces a process that died: at once, unless processes of this
// slot keep dying young, which backs off up to 5 seconds.
func (m *master) respawn(wi, id int, lived time.Duration, wasReady bool) {
	sl := m.slots[wi][id]
	var delay time.Duration
	if !wasReady || lived < time.Second {
		sl.failures++
		delay = min(100*time.Millisecond<<min(sl.failures-1, 6), 5*time.Second)
	}
	start := func() {
		sl.timer = 0
		if m.state != mRunning || sl.cur != nil || sl.next != nil {
			return
		}
		c, err := m.spawn(wi, id)
		if err != nil {
			m.log.Error("cannot restart process", "worker", m.ws[wi].Name, "id", id, "err", err)
			m.respawn(wi, id, 0, false)
			return
		}
		sl.cur = c
	}
	if delay == 0 {
		start()
		return
	}
	m.log.Warn("restarting process after a delay, as it keeps dying", "worker", m.ws[wi].Name, "id", id, "delay", delay)
	sl.timer = m.loop.AddTimer(delay, false, start)
}

// timeoutFor is how long a process may take to finish its connections.
func timeoutFor(graceful bool) time.Duration {
	if graceful {
		return GracefulStopTimeout
	}
	return StopTimeout
}

// tell sends a stop or retire order and arms the kill timer.
func (m *master) tell(c *child, typ string, graceful bool) {
	t := timeoutFor(graceful)
	c.fc.Send(&ctlMsg{Type: typ, Graceful: graceful, IntervalMS: int(t / time.Millisecond)})
	if c.killTimer != 0 {
		m.loop.DelTimer(c.killTimer)
	}
	c.killTimer = m.loop.AddTimer(t+killSlack, false, func() {
		c.killTimer = 0
		if _, ok := m.children[c.pid]; ok {
			m.log.Warn("killing a process that did not stop in time", "worker", m.ws[c.w].Name, "id", c.id, "worker_pid", c.pid, "timeout", t)
			c.proc.Kill()
		}
	})
}

// stop stops every process, then the master.
func (m *master) stop(graceful bool) {
	if m.state == mStopping {
		if !graceful && m.stopGraceful {
			m.stopGraceful = false
			for _, c := range m.children {
				m.tell(c, "stop", false)
			}
		}
		return
	}
	m.state = mStopping
	m.stopGraceful = graceful
	if m.startErr == nil {
		if graceful {
			m.log.Info(fmt.Sprintf("Workerman[%s] is gracefully stopping ...", m.p.name))
		} else {
			m.log.Info(fmt.Sprintf("Workerman[%s] is stopping ...", m.p.name))
		}
	}
	if m.startTimer != 0 {
		m.loop.DelTimer(m.startTimer)
		m.startTimer = 0
	}
	for _, r := range []*reloadRun{m.reloadCur, m.reloadNext} {
		if r != nil {
			for _, f := range r.waiters {
				f(&ctlMsg{Type: "error", Error: "the program is stopping"})
			}
		}
	}
	m.reloadCur, m.reloadNext = nil, nil
	for _, ss := range m.slots {
		for _, sl := range ss {
			if sl.timer != 0 {
				m.loop.DelTimer(sl.timer)
				sl.timer = 0
			}
		}
	}
	// New clients are refused from now on; the processes close their
	// copies of the sockets as they stop accepting.
	for _, w := range m.ws {
		if w.hasFd {
			unix.Close(w.fd)
			w.fd, w.hasFd = -1, false
		}
	}
	for _, c := range m.children {
		m.tell(c, "stop", graceful)
	}
	if len(m.children) == 0 {
		m.finish()
	}
}

// finish removes the master's files and ends its loop.
func (m *master) finish() {
	for _, w := range m.ws {
		if w.socketName != "" && w.network() == "unix" && !w.ReusePort {
			os.Remove(w.ep.path)
		}
	}
	m.cleanup()
	if m.startErr == nil {
		m.log.Info(fmt.Sprintf("Workerman[%s] has been stopped", m.p.name))
	}
	for f := range m.ctlWaiters {
		(*f)(&ctlMsg{Type: "error", Error: "the program has stopped"})
	}
	m.loop.Stop()
}

// reload starts a rolling reload, or queues one behind the reload in
// progress. reply, if not nil, receives the outcome.
func (m *master) reload(graceful bool, reply func(*ctlMsg)) {
	if m.state != mRunning {
		if reply != nil {
			what := "starting"
			if m.state == mStopping {
				what = "stopping"
			}
			reply(&ctlMsg{Type: "error", Error: "the program is " + what})
		}
		return
	}
	if m.reloadCur != nil {
		if m.reloadNext == nil {
			m.reloadNext = &reloadRun{}
		}
		m.reloadNext.graceful = graceful
		if reply != nil {
			m.reloadNext.waiters = append(m.reloadNext.waiters, reply)
		}
		return
	}
	r := &reloadRun{graceful: graceful}
	if reply != nil {
		r.waiters = append(r.waiters, reply)
	}
	m.startReload(r)
}

func (m *master) startReload(r *reloadRun) {
	m.reloadCur = r
	mode := ""
	if r.graceful {
		mode = " gracefully"
	}
	m.log.Info(fmt.Sprintf("Workerman[%s] reloading%s", m.p.name, mode))
	for wi, w := range m.ws {
		for _, sl := range m.slots[wi] {
			if sl.cur == nil {
				continue
			}
			if w.Reloadable {
				r.queue = append(r.queue, sl.cur)
			} else {
				sl.cur.fc.Send(&ctlMsg{Type: "reload"})
			}
		}
	}
	m.reloadStep()
}

// reloadStep replaces the next old process: it starts the new one, waits
// until it accepts, then retires the old one, so capacity never dips.
func (m *master) reloadStep() {
	r := m.reloadCur
	if r == nil || m.state != mRunning {
		return
	}
	for len(r.queue) > 0 {
		old := r.queue[0]
		r.queue = r.queue[1:]
		sl := m.slots[old.w][old.id]
		if sl.cur != old || sl.next != nil {
			// It died and was replaced meanwhile, by the binary on disk.
			continue
		}
		nc, err := m.spawn(old.w, old.id)
		if err != nil {
			m.reloadDone(err.Error())
			return
		}
		sl.next = nc
		timer := m.loop.AddTimer(StartTimeout, false, func() {
			if !nc.ready {
				nc.errText = fmt.Sprintf("not ready within %v (StartTimeout)", StartTimeout)
				nc.proc.Kill()
			}
		})
		nc.onReady = func() {
			m.loop.DelTimer(timer)
			sl.next = nil
			prev := sl.cur
			sl.cur = nc
			if prev == nil || prev.retiring {
				m.reloadStep()
				return
			}
			m.retire(prev, r.graceful, m.reloadStep)
		}
		nc.onFail = func(reason string) {
			m.loop.DelTimer(timer)
			m.reloadDone(fmt.Sprintf("the new process %d of worker %s failed to start (%s); the running processes keep serving", nc.pid, m.ws[nc.w].Name, reason))
			if sl.cur == nil && m.state == mRunning {
				m.respawn(nc.w, nc.id, 0, false)
			}
		}
		return
	}
	m.reloadDone("")
}

// retire tells an old process to stop accepting and finish; then runs
// once it has stopped accepting (or exited).
func (m *master) retire(c *child, graceful bool, then func()) {
	c.retiring = true
	if _, ok := m.children[c.pid]; !ok {
		then()
		return
	}
	c.onPaused = then
	m.tell(c, "retire", graceful)
}

func (m *master) reloadDone(failure string) {
	r := m.reloadCur
	m.reloadCur = nil
	if r == nil {
		return
	}
	var reply *ctlMsg
	if failure != "" {
		m.log.Error(fmt.Sprintf("Workerman[%s] reload failed", m.p.name), "err", failure)
		reply = &ctlMsg{Type: "error", Error: failure}
	} else {
		m.log.Info(fmt.Sprintf("Workerman[%s] reloaded", m.p.name))
		reply = &ctlMsg{Type: "ok"}
	}
	for _, f := range r.waiters {
		f(reply)
	}
	if n := m.reloadNext; n != nil && m.state == mRunning {
		m.reloadNext = nil
		m.startReload(n)
	}
}

// gather asks every live process a question and calls done with the
// answers that came within wait; a process that did not answer is busy.
func (m *master) gather(typ string, wait time.Duration, done func(map[*child]*ctlMsg)) {
	replies := make(map[*child]*ctlMsg)
	pending := 0
	finished := false
	timer := 0
	finish := func() {
		if finished {
			return
		}
		finished = true
		if timer != 0 {
			m.loop.DelTimer(timer)
		}
		done(replies)
	}
	for _, c := range m.children {
		c := c
		m.seq++
		pending++
		c.pending[m.seq] = func(r *ctlMsg) {
			if r != nil {
				replies[c] = r
			}
			pending--
			if pending == 0 {
				finish()
			}
		}
		c.fc.Send(&ctlMsg{Type: typ, Seq: m.seq})
	}
	if pending == 0 {
		finish()
		return
	}
	timer = m.loop.AddTimer(wait, false, func() { timer = 0; finish() })
}

// busyAfter is how long a process may take to answer status before it is
// shown as busy.
const busyAfter = time.Second

// A qps figure needs two samples of a process's request count. The master
// keeps the last sample of each process; a status request takes one new
// sample when the kept one is between qpsMinAge and qpsMaxAge old (as
// status -d refreshing every second does), and otherwise two samples the
// requested interval apart.
const (
	qpsMinAge = 200 * time.Millisecond
	qpsMaxAge = 10 * time.Second
)

type sample struct {
	at    time.Time
	total int64
}

// status builds a status report.
func (m *master) status(interval time.Duration, reply func(*ctlMsg)) {
	fresh := len(m.children) > 0
	now := time.Now()
	for pid := range m.children {
		s, ok := m.samples[pid]
		if age := now.Sub(s.at); !ok || age < qpsMinAge || age > qpsMaxAge {
			fresh = false
		}
	}
	final := func() {
		m.gather("stats", busyAfter, func(rs map[*child]*ctlMsg) {
			reply(&ctlMsg{Type: "status", Status: m.buildReport(rs)})
		})
	}
	if fresh {
		final()
		return
	}
	m.gather("stats", busyAfter, func(rs map[*child]*ctlMsg) {
		m.keepSamples(rs)
		m.loop.AddTimer(interval, false, final)
	})
}

// keepSamples records request counts for the next qps figure.
func (m *master) keepSamples(rs map[*child]*ctlMsg) {
	now := time.Now()
	for pid := range m.samples {
		if _, ok := m.children[pid]; !ok {
			delete(m.samples, pid)
		}
	}
	for c, r := range rs {
		if r.Stats != nil {
			m.samples[c.pid] = sample{now, r.Stats.TotalRequest}
		}
	}
}

// buildReport makes a status report from the processes' answers.
func (m *master) buildReport(rs map[*child]*ctlMsg) *StatusReport {
	now := time.Now()
	r := &StatusReport{
		Version:       Version,
		GoVersion:     runtime.Version(),
		EventLoop:     "epoll",
		MasterPid:     os.Getpid(),
		Daemon:        m.daemon,
		StartTime:     m.startTime,
		UptimeSeconds: now.Sub(m.startTime).Seconds(),
		LoadAverage:   loadAverage(),
	}
	for wi, w := range m.ws {
		ws := WorkerStatus{Name: w.Name, Listen: listenName(w), Count: w.Count, Reloadable: w.Reloadable, Exits: []ExitCount{}}
		statuses := make([]int, 0, len(m.exits[wi]))
		for st := range m.exits[wi] {
			statuses = append(statuses, st)
		}
		sort.Ints(statuses)
		for _, st := range statuses {
			e := ExitCount{Status: st, Count: m.exits[wi][st], ExitCode: -1}
			s := syscall.WaitStatus(st)
			if s.Exited() {
				e.ExitCode = s.ExitStatus()
			} else if s.Signaled() {
				e.Signal = int(s.Signal())
			}
			ws.Exits = append(ws.Exits, e)
		}
		r.Workers = append(r.Workers, ws)
	}
	kids := make([]*child, 0, len(m.children))
	for _, c := range m.children {
		kids = append(kids, c)
	}
	sort.Slice(kids, func(i, j int) bool {
		a, b := kids[i], kids[j]
		if a.w != b.w {
			return a.w < b.w
		}
		if a.id != b.id {
			return a.id < b.id
		}
		return a.pid < b.pid
	})
	for _, c := range kids {
		w := m.ws[c.w]
		ps := ProcessStatus{
			Pid: c.pid, Worker: w.Name, ID: c.id, Listen: listenName(w),
			MemoryBytes: processMemory(c.pid), Started: c.started, Retiring: c.retiring,
			Status: "idle",
		}
		st := rs[c]
		if st == nil || st.Stats == nil {
			ps.Status = "busy"
			ps.Connections, ps.SendFail, ps.Timers, ps.TotalRequest = -1, -1, -1, -1
		} else {
			ps.Connections, ps.SendFail, ps.Timers, ps.TotalRequest = st.Stats.Connections, st.Stats.SendFail, st.Stats.Timers, st.Stats.TotalRequest
			if prev, ok := m.samples[c.pid]; ok {
				if d := now.Sub(prev.at); d > 0 && st.Stats.TotalRequest >= prev.total {
					ps.QPS = float64(st.Stats.TotalRequest-prev.total) / d.Seconds()
				}
			}
		}
		r.Processes = append(r.Processes, ps)
	}
	m.keepSamples(rs)
	return r
}

// serveControl answers the command line.
func (m *master) serveControl(ln *net.UnixListener) {
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		go m.controlConn(c)
	}
}

func (m *master) controlConn(c *net.UnixConn) {
	defer c.Close()
	if err := checkPeer(c); err != nil {
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		writeFrame(c, &ctlMsg{Type: "error", Error: err.Error()})
		return
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	req, err := readFrame(c)
	if err != nil {
		return
	}
	m.replying.Add(1)
	defer m.replying.Add(-1)
	replies := make(chan *ctlMsg, 1)
	reply := func(r *ctlMsg) {
		select {
		case replies <- r:
		default:
		}
	}
	m.loop.Post(func() {
		m.ctlWaiters[&reply] = struct{}{}
		m.handleControl(req, func(r *ctlMsg) {
			delete(m.ctlWaiters, &reply)
			reply(r)
		})
	})
	var r *ctlMsg
	select {
	case r = <-replies:
	case <-m.done:
		select {
		case r = <-replies:
		default:
			r = &ctlMsg{Type: "error", Error: "the program has stopped"}
		}
	}
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	writeFrame(c, r)
}

// checkPeer lets only the master's own user (and root) in.
func checkPeer(c *net.UnixConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	var cerr error
	raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if cerr != nil {
		return cerr
	}
	if cred.Uid != 0 && int(cred.Uid) != os.Geteuid() {
		return fmt.Errorf("permission denied: user %d may not control a master run by user %d", cred.Uid, os.Geteuid())
	}
	return nil
}

func (m *master) handleControl(req *ctlMsg, reply func(*ctlMsg)) {
	switch req.Type {
	case "hello":
		reply(&ctlMsg{Type: "hello", Pid: os.Getpid(), Version: Version})
	case "stop":
		reply(&ctlMsg{Type: "ok", Pid: os.Getpid()})
		m.stop(req.Graceful)
	case "reload":
		m.reload(req.Graceful, reply)
	case "status":
		iv := time.Duration(req.IntervalMS) * time.Millisecond
		if iv <= 0 || iv > time.Minute {
			iv = time.Second
		}
		m.status(iv, reply)
	case "conns":
		m.gather("conns", 3*busyAfter, func(rs map[*child]*ctlMsg) {
			out := &ctlMsg{Type: "conns", Conns: []ConnectionInfo{}}
			busy := 0
			for _, c := range m.children {
				if rs[c] == nil {
					busy++
				}
			}
			for _, r := range rs {
				out.Conns = append(out.Conns, r.Conns...)
			}
			sort.Slice(out.Conns, func(i, j int) bool {
				a, b := out.Conns[i], out.Conns[j]
				if a.Pid != b.Pid {
					return a.Pid < b.Pid
				}
				return a.ID < b.ID
			})
			if busy > 0 {
				out.Error = fmt.Sprintf("%d busy process(es) did not answer; their connections are not listed", busy)
			}
			reply(out)
		})
	default:
		reply(&ctlMsg{Type: "error", Error: fmt.Sprintf("unknown request %q", req.Type)})
	}
}

// fanout sends each log record to several handlers.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var first error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	g := make(fanout, len(f))
	for i, h := range f {
		g[i] = h.WithAttrs(as)
	}
	return g
}

func (f fanout) WithGroup(name string) slog.Handler {
	g := make(fanout, len(f))
	for i, h := range f {
		g[i] = h.WithGroup(name)
	}
	return g
}

// setupLogging sends the framework's log to the log file, and in the
// foreground also to the terminal (or to a logger set with SetLogger). It
// returns that logger, which also becomes the framework's, and one that
// writes to the log file only.
func setupLogging(logFile io.Writer, foreground bool) (all, fileOnly *slog.Logger) {
	file := slog.NewTextHandler(logFile, nil)
	hs := fanout{file}
	if user := logPtr.Load(); user != nil {
		hs = append(hs, user.Handler())
	} else if foreground {
		hs = append(hs, slog.Default().Handler())
	}
	pid := slog.Int("pid", os.Getpid())
	all = slog.New(hs).With(pid)
	SetLogger(all)
	return all, slog.New(file).With(pid)
}
