package workerman

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/unix"
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
	creds   []*credential // per worker; nil keeps the master's user
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
	// metricsSrv serves MetricsAddress (metrics_master.go).
	metricsSrv *http.Server
	exits      []map[int]int
	seq        uint64
	samples    map[int]sample

	reloadCur, reloadNext *reloadRun
	ctlWaiters            map[*func(*ctlMsg)]struct{}
	keptPaths             []string      // Unix socket files of inner workers, removed at the end
	slotFds               [][]int       // per ReusePort worker, a socket per process slot
	balance               []*balanceMem // per worker sharing one socket over processes, its fair-accept segment
	balanceFds            []int
	done                  chan struct{}
}

// slot is one (worker, id) position: the process serving it, and during a
// reload or a restart the process about to take over.
type slot struct {
	cur, next *child
	failures  int
	timer     int
	// kept holds the sockets of the slot's inner workers (see inner.go).
	kept map[string]keptSock
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
	claimed   map[string]bool // kept sockets the process asked for or gave
	onReady   func()
	onFail    func(reason string)
	onPaused  func()
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
		startFailure = err
		return ExitFailure
	}
	if err := m.startMetrics(); err != nil {
		m.cleanup()
		m.out(fmt.Sprintf("Workerman[%s] start fail: %v\n", p.name, err))
		m.result(ExitFailure)
		startFailure = err
		return ExitFailure
	}
	defer m.stopMetrics()
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
		startFailure = m.startErr
		return ExitFailure
	}
	if m.state == mStopping && m.readyCount < m.total {
		// Stopped (by a signal or the stop command) before the start ended.
		m.out(fmt.Sprintf("Workerman[%s] start fail: stopped while starting\n", p.name))
		m.result(ExitFailure)
		startFailure = ErrStoppedWhileStarting
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
	m.env = roleEnv()
	if len(m.ws) == 0 {
		return errors.New("no worker: create workers with workerman.NewWorker before RunAll")
	}
	m.creds = make([]*credential, len(m.ws))
	m.slotFds = make([][]int, len(m.ws))
	m.balance = make([]*balanceMem, len(m.ws))
	m.balanceFds = make([]int, len(m.ws))
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
		if err := m.openListener(i, w); err != nil {
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
func credentialFor(w *Worker) (*credential, error) {
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
	cred := &credential{Uid: uint32(uid), Gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if n, err := strconv.Atoi(s); err == nil {
				cred.Groups = append(cred.Groups, uint32(n))
			}
		}
	}
	return cred, nil
}

// cleanup releases what prepare took; the pid file goes last.
func (m *master) cleanup() {
	for _, w := range m.ws {
		if w.hasFd && w.network() == "unix" {
			os.Remove(w.ep.path)
		}
	}
	m.closeListeners()
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
