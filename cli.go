package workerman

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/workerman-go/workerman/internal/unix"
)

// Settings of the master process, Workerman's static Worker properties.
// Set them before RunAll; they apply to every process of the program.
var (
	// PidFile is where the master writes its process id; the stop, reload,
	// status and connections commands find the master through it. The
	// master's control socket lives beside it (the same name ending in
	// ".sock" instead of ".pid"). The default is a file in os.TempDir()
	// whose name is made from the program's path, so several programs (or
	// copies of one program in different directories) run side by side;
	// set it to run two copies of the same binary, or to keep the file
	// somewhere safer than the temporary directory.
	PidFile string
	// LogFile receives the framework's own log: start, stop, reload and
	// process exits (not your program's output). The default is the pid
	// file's name ending in ".log".
	LogFile string
	// StdoutFile receives the standard output and error of the processes of
	// a daemon (start -d). The default, "", discards them (/dev/null).
	StdoutFile string
	// Daemonize makes start behave as start -d.
	Daemonize bool
	// StopTimeout bounds stop and reload: a process that has not finished
	// its connections by then has them closed, and one that has still not
	// exited a second later is killed. The default is 2 seconds, as in
	// Workerman.
	StopTimeout = 2 * time.Second
	// GracefulStopTimeout bounds stop -g and reload -g the same way. The
	// default is 30 seconds.
	GracefulStopTimeout = 30 * time.Second
	// StartTimeout bounds how long a new process may take to get ready
	// (its OnWorkerStart included) before start or reload gives up on it.
	StartTimeout = 30 * time.Second
	// SingleProcess runs every worker inside the launching process, with
	// one process per worker whatever its Count, and accepts only the start
	// command. Use it under a debugger, which cannot follow the processes
	// the master starts.
	SingleProcess bool
)

// Exit statuses of the command line, which scripts can rely on. They
// follow the init-script convention (LSB): stop when nothing runs
// succeeds, since what was asked for is the case (so that deploy scripts
// and restart can always stop first); reload, status and connections when
// nothing runs fail with ExitNotRunning, since they cannot do what was
// asked (LSB's status uses 3 for "not running" too).
const (
	// ExitOK: the command succeeded (also: stop when nothing runs).
	ExitOK = 0
	// ExitFailure: the command failed; the message says why.
	ExitFailure = 1
	// ExitUsage: the command line was not understood.
	ExitUsage = 2
	// ExitNotRunning: reload, status or connections found no running master.
	ExitNotRunning = 3
)

// Environment variables that tell a process its role.
const (
	envChild  = "WORKERMAN_CHILD"  // a worker process; JSON childInfo
	envDaemon = "WORKERMAN_DAEMON" // the daemon master; fd 3 reports the start
)

const usageText = `Usage: %s <command> [mode]
Commands:
start		Start worker in DEBUG mode.
		Use mode -d to start in DAEMON mode.
stop		Stop worker.
		Use mode -g to stop gracefully.
restart		Restart workers.
		Use mode -d to start in DAEMON mode.
		Use mode -g to stop gracefully.
reload		Reload codes.
		Use mode -g to reload gracefully.
status		Get worker status.
		Use mode -d to show live status.
		Use --json for JSON output.
connections	Get worker connections.
		Use --json for JSON output.
`

// command is a parsed command line.
type command struct {
	name     string // start, stop, restart, reload, status, connections, help
	daemon   bool   // -d
	graceful bool   // -g
	json     bool   // --json
}

// parseArgs parses the arguments after the program name.
func parseArgs(args []string) (command, error) {
	var c command
	allowed := map[string]string{
		"start":       "-d",
		"stop":        "-g",
		"restart":     "-d -g",
		"reload":      "-g",
		"status":      "-d --json",
		"connections": "--json",
	}
	var flags []string
	for _, a := range args {
		switch a {
		case "-h", "--help", "help":
			return command{name: "help"}, nil
		}
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
			continue
		}
		if _, ok := allowed[a]; !ok {
			return c, fmt.Errorf("unknown command %q", a)
		}
		if c.name != "" {
			return c, fmt.Errorf("two commands given: %q and %q", c.name, a)
		}
		c.name = a
	}
	if c.name == "" {
		if len(flags) > 0 {
			return c, fmt.Errorf("mode %q given without a command", flags[0])
		}
		return c, errors.New("no command given")
	}
	ok := strings.Fields(allowed[c.name])
	for _, f := range flags {
		valid := false
		for _, o := range ok {
			if f == o {
				valid = true
			}
		}
		if !valid {
			return c, fmt.Errorf("%s does not take %q (it takes: %s)", c.name, f, orNothing(allowed[c.name]))
		}
		switch f {
		case "-d":
			c.daemon = true
		case "-g":
			c.graceful = true
		case "--json":
			c.json = true
		}
	}
	return c, nil
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// Logger returns the logger of the framework's own messages: the one set
// with SetLogger, or, in the processes RunAll starts, one writing to
// LogFile (and to the terminal in the foreground), or slog.Default().
// Components such as FileMonitor log through it.
func Logger() *slog.Logger { return logger() }

// programPath is the path the program was started by, made absolute: the
// path new worker processes are started from. Unlike os.Executable it
// keeps symbolic links, so a deployment that switches a link to a new
// release is picked up by reload.
func programPath() (string, error) {
	arg0 := os.Args[0]
	var p string
	if strings.Contains(arg0, string(filepath.Separator)) {
		p = arg0
	} else if lp, err := exec.LookPath(arg0); err == nil {
		p = lp
	}
	if p != "" {
		if abs, err := filepath.Abs(p); err == nil {
			if fi, err := os.Stat(abs); err == nil && fi.Mode().IsRegular() {
				return abs, nil
			}
		}
	}
	return os.Executable()
}

// paths are the files through which the command line finds the master.
type paths struct {
	pid, log, sock string
	name           string // program name for messages: Workerman[name]
}

// resolvePaths applies the defaults and makes the paths absolute.
func resolvePaths() (paths, error) {
	var p paths
	p.name = filepath.Base(os.Args[0])
	base := defaultBase()
	p.pid = PidFile
	if p.pid == "" {
		p.pid = base + ".pid"
	}
	p.log = LogFile
	if p.log == "" {
		p.log = strings.TrimSuffix(p.pid, ".pid") + ".log"
	}
	var err error
	if p.pid, err = filepath.Abs(p.pid); err != nil {
		return p, err
	}
	if p.log, err = filepath.Abs(p.log); err != nil {
		return p, err
	}
	p.sock = strings.TrimSuffix(p.pid, ".pid") + ".sock"
	if len(p.sock) > 107 {
		return p, fmt.Errorf("workerman: the control socket path %s is longer than a Unix socket path may be (107 bytes); set a shorter PidFile", p.sock)
	}
	return p, nil
}

// defaultBase is the default pid file path without its extension: a name
// in the temporary directory derived from the program's path. A program
// run by `go run` lives in a new temporary directory each time; it is
// named after the working directory instead.
func defaultBase() string {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	key := exe
	name := filepath.Base(exe)
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		if wd, err := os.Getwd(); err == nil {
			key = filepath.Join(wd, name)
		}
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, name)
	if len(clean) > 32 {
		clean = clean[:32]
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("workerman.%s.%08x", clean, h.Sum32()))
}

// runCLI runs one command and returns the process's exit status. For start
// it runs the master and returns when it has stopped.
func runCLI(cmd command, ws []*Worker) int {
	p, err := resolvePaths()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return ExitFailure
	}
	switch cmd.name {
	case "help":
		fmt.Printf(usageText, p.name)
		return ExitOK
	case "start":
		return startCommand(p, cmd.daemon || Daemonize, ws)
	case "stop":
		return stopCommand(p, cmd.graceful, false)
	case "restart":
		if code := stopCommand(p, cmd.graceful, true); code != ExitOK {
			return code
		}
		return startCommand(p, cmd.daemon || Daemonize, ws)
	case "reload":
		return reloadCommand(p, cmd.graceful)
	case "status":
		return statusCommand(p, cmd.daemon, cmd.json)
	case "connections":
		return connectionsCommand(p, cmd.json)
	}
	fmt.Fprintf(os.Stderr, usageText, p.name)
	return ExitUsage
}

func say(p paths, format string, a ...any) {
	fmt.Printf("Workerman[%s] %s\n", p.name, fmt.Sprintf(format, a...))
}

// note shows a remark about how the master was found, on standard error
// so that JSON output stays clean.
func note(msg string) {
	if msg != "" {
		fmt.Fprintln(os.Stderr, "note: "+msg)
	}
}

func sayNotRun(p paths, why string) {
	if why == "" {
		say(p, "not run")
		return
	}
	say(p, "not run: %s", why)
}

// masterState is what the command line learns about the master.
type masterState int

const (
	notRunning masterState = iota
	running
	broken // running, but cannot be reached; the message says why
)

// findMaster works out whether a master runs for these paths. The pid
// file is locked by the live master, so a stale file (the machine was
// restarted, the master was killed, the number now belongs to another
// process) is told apart without trusting the number in it.
func findMaster(p paths) (state masterState, pid int, msg string) {
	f, err := os.Open(p.pid)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return broken, 0, fmt.Sprintf("cannot read the pid file %s: %v", p.pid, err)
		}
		// No pid file: a master whose pid file was deleted still answers
		// on its control socket.
		if m, err := ctlRequest(p, &ctlMsg{Type: "hello"}, 2*time.Second); err == nil {
			return running, m.Pid, fmt.Sprintf("the pid file %s is missing; found the master (pid %d) through its control socket %s", p.pid, m.Pid, p.sock)
		}
		return notRunning, 0, ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 64))
	pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err == nil {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		switch {
		case pid <= 0:
			return notRunning, 0, fmt.Sprintf("the pid file %s is stale (it holds no process id and no master holds it)", p.pid)
		case processAlive(pid):
			return notRunning, pid, fmt.Sprintf("the pid file %s is stale: process %d is not this program's master (the master is gone and the number now belongs to another process); it was left alone", p.pid, pid)
		default:
			return notRunning, pid, fmt.Sprintf("the pid file %s is stale: process %d is gone", p.pid, pid)
		}
	} else if !errors.Is(err, unix.EWOULDBLOCK) {
		return broken, pid, fmt.Sprintf("cannot lock the pid file %s: %v", p.pid, err)
	}
	if procStateLetter(pid) == "T" {
		return broken, pid, fmt.Sprintf("the master (pid %d) is suspended (Ctrl-Z in its terminal?): resume it with fg in that terminal, or kill -CONT %d", pid, pid)
	}
	m, err := ctlRequest(p, &ctlMsg{Type: "hello"}, 5*time.Second)
	if err != nil {
		return broken, pid, ctlErrorText(p, pid, err)
	}
	return running, m.Pid, ""
}

// runningMaster finds the master that command verb talks to. When none
// runs, or it cannot be reached, it says so and returns ok false with the
// exit status: notRunningExit when no master runs, ExitFailure when one
// cannot be reached. Otherwise it returns the master's pid and findMaster's
// remark about how it was found.
func runningMaster(p paths, verb string, notRunningExit int) (pid int, msg string, exit int, ok bool) {
	return runningMasterAs(p, verb, notRunningExit, false)
}

// runningMasterAs is runningMaster; with asJSON, what it says is a JSON
// error object on standard output (see jsonError) instead of text.
func runningMasterAs(p paths, verb string, notRunningExit int, asJSON bool) (pid int, msg string, exit int, ok bool) {
	state, pid, msg := findMaster(p)
	switch state {
	case notRunning:
		if asJSON {
			jsonError(p, "not running", msg, notRunningExit)
		} else {
			sayNotRun(p, msg)
		}
		return 0, "", notRunningExit, false
	case broken:
		if asJSON {
			jsonError(p, verb+" fail", msg, ExitFailure)
		} else {
			say(p, "%s fail: %s", verb, msg)
		}
		return 0, "", ExitFailure, false
	}
	return pid, msg, ExitOK, true
}

// JSONError is what status --json and connections --json print, as one
// JSON object on standard output, when they cannot report: no master runs
// (Error "not running", exit status ExitNotRunning), or it cannot be
// reached or did not answer (exit status ExitFailure).
type JSONError struct {
	// Error says what went wrong in a few words.
	Error string `json:"error"`
	// Detail explains it, when there is more to say.
	Detail string `json:"detail,omitempty"`
	// Program is the program's name, as in Workerman[name].
	Program string `json:"program"`
	// ExitCode is the command's exit status.
	ExitCode int `json:"exit_code"`
}

// jsonError prints a JSONError.
func jsonError(p paths, what, detail string, code int) {
	b, _ := json.Marshal(JSONError{Error: what, Detail: detail, Program: p.name, ExitCode: code})
	fmt.Println(string(b))
}

// procStateLetter returns the state of a process as ps shows it (R, S, T,
// Z ...), or "" when it cannot be read.
func procStateLetter(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// ctlErrorText explains why the master's control socket did not answer.
func ctlErrorText(p paths, pid int, err error) string {
	switch {
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM), strings.Contains(err.Error(), "permission denied"):
		return fmt.Sprintf("permission denied on the control socket %s: the master (pid %d) runs as another user; run the command as that user (or root)", p.sock, pid)
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ECONNREFUSED):
		return fmt.Sprintf("the master (pid %d) holds the pid file %s, but its control socket %s does not answer (it is starting, or the socket was deleted): %v", pid, p.pid, p.sock, err)
	}
	return fmt.Sprintf("the master (pid %d) did not answer on its control socket %s: %v", pid, p.sock, err)
}

// processAlive reports whether a process with this id exists.
func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// ctlDial connects to the master's control socket.
func ctlDial(p paths) (net.Conn, error) {
	return net.DialTimeout("unix", p.sock, 5*time.Second)
}

// ctlRequest sends one request to the master and reads its reply.
func ctlRequest(p paths, req *ctlMsg, timeout time.Duration) (*ctlMsg, error) {
	c, err := ctlDial(p)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if err := writeFrame(c, req); err != nil {
		return nil, err
	}
	m, err := readFrame(c)
	if err != nil {
		return nil, err
	}
	if m.Type == "error" {
		return m, errors.New(m.Error)
	}
	return m, nil
}

// waitUnlocked waits until no process holds the lock of the pid file f:
// the master has exited (it keeps the lock until its last moment, even
// after it has removed the file).
func waitUnlocked(f *os.File, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err == nil {
			unix.Flock(int(f.Fd()), unix.LOCK_UN)
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stopCommand stops the master. For restart, a master that does not run
// is not worth a message beyond "not run".
func stopCommand(p paths, graceful, restarting bool) int {
	if restarting {
		say(p, "restart")
	} else {
		say(p, "stop")
	}
	pid, msg, exit, ok := runningMaster(p, "stop", ExitOK)
	if !ok {
		return exit
	}
	if msg != "" {
		say(p, "%s", msg)
	}
	if graceful {
		say(p, "is gracefully stopping ...")
	} else {
		say(p, "is stopping ...")
	}
	// Hold the pid file open: its lock tells when the master is gone.
	pf, err := os.Open(p.pid)
	if err == nil {
		defer pf.Close()
	} else {
		pf = nil
	}
	if _, err := ctlRequest(p, &ctlMsg{Type: "stop", Graceful: graceful}, 10*time.Second); err != nil {
		say(p, "stop fail: %s", ctlErrorText(p, pid, err))
		return ExitFailure
	}
	timeout := StopTimeout + 3*time.Second
	if graceful {
		timeout = GracefulStopTimeout + StopTimeout + 3*time.Second
	}
	if !waitMasterGone(pf, pid, timeout) {
		say(p, "stop fail: the master (pid %d) is still running after %v", pid, timeout)
		return ExitFailure
	}
	say(p, "stop success")
	return ExitOK
}

// waitMasterGone waits until the master has exited: the lock of its pid
// file f is free, or, without a pid file, its process is gone.
func waitMasterGone(f *os.File, pid int, timeout time.Duration) bool {
	if f != nil {
		return waitUnlocked(f, timeout)
	}
	deadline := time.Now().Add(timeout)
	for processAlive(pid) && !isZombie(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// isZombie reports whether a process has exited and waits to be reaped.
func isZombie(pid int) bool {
	switch procStateLetter(pid) {
	case "", "Z", "X":
		return true
	}
	return false
}

func reloadCommand(p paths, graceful bool) int {
	say(p, "reload")
	pid, msg, exit, ok := runningMaster(p, "reload", ExitNotRunning)
	if !ok {
		return exit
	}
	note(msg)
	timeout := 10*time.Minute + StartTimeout
	if _, err := ctlRequest(p, &ctlMsg{Type: "reload", Graceful: graceful}, timeout); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			say(p, "reload fail: %s", ctlErrorText(p, pid, err))
		} else {
			say(p, "reload fail: %v", err)
		}
		return ExitFailure
	}
	say(p, "reload success")
	return ExitOK
}

// statusRequest asks the master for a status report.
func statusRequest(p paths) (*StatusReport, error) {
	m, err := ctlRequest(p, &ctlMsg{Type: "status", IntervalMS: 1000}, 30*time.Second)
	if err != nil {
		return nil, err
	}
	if m.Status == nil {
		return nil, errors.New("the master sent no status")
	}
	return m.Status, nil
}

func statusCommand(p paths, live, asJSON bool) int {
	pid, msg, exit, ok := runningMasterAs(p, "status", ExitNotRunning, asJSON)
	if !ok {
		return exit
	}
	note(msg)
	fail := func(err error) int {
		if asJSON {
			jsonError(p, "status fail", ctlErrorText(p, pid, err), ExitFailure)
		} else {
			say(p, "status fail: %s", ctlErrorText(p, pid, err))
		}
		return ExitFailure
	}
	if !live {
		r, err := statusRequest(p)
		if err != nil {
			return fail(err)
		}
		printStatus(r, asJSON)
		return ExitOK
	}
	quit := make(chan os.Signal, 1)
	signal.Notify(quit, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(quit)
	for {
		type result struct {
			r   *StatusReport
			err error
		}
		res := make(chan result, 1)
		go func() {
			r, err := statusRequest(p)
			res <- result{r, err}
		}()
		select {
		case <-quit:
			return ExitOK
		case x := <-res:
			if x.err != nil {
				if state, _, _ := findMaster(p); state == notRunning {
					if asJSON {
						jsonError(p, "not running", "the program has stopped", ExitOK)
					} else {
						say(p, "has stopped")
					}
					return ExitOK
				}
				return fail(x.err)
			}
			if !asJSON {
				fmt.Print("\x1b[H\x1b[2J\x1b(B\x1b[m")
			}
			printStatus(x.r, asJSON)
			if !asJSON {
				fmt.Print("\nPress Ctrl+C to quit.\n\n")
			}
		}
	}
}

func printStatus(r *StatusReport, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
		return
	}
	fmt.Print(formatStatus(r))
}

func connectionsCommand(p paths, asJSON bool) int {
	pid, msg, exit, ok := runningMasterAs(p, "connections", ExitNotRunning, asJSON)
	if !ok {
		return exit
	}
	note(msg)
	m, err := ctlRequest(p, &ctlMsg{Type: "conns"}, 30*time.Second)
	if err != nil {
		if asJSON {
			jsonError(p, "connections fail", ctlErrorText(p, pid, err), ExitFailure)
		} else {
			say(p, "connections fail: %s", ctlErrorText(p, pid, err))
		}
		return ExitFailure
	}
	if asJSON {
		conns := m.Conns
		if conns == nil {
			conns = []ConnectionInfo{}
		}
		b, _ := json.Marshal(conns)
		fmt.Println(string(b))
		return ExitOK
	}
	fmt.Print(formatConnections(m.Conns))
	if m.Error != "" {
		fmt.Println(m.Error)
	}
	return ExitOK
}

// startCommand starts the master in the foreground or as a daemon.
func startCommand(p paths, daemon bool, ws []*Worker) int {
	switch state, pid, msg := findMaster(p); state {
	case running:
		say(p, "already running (pid %d)", pid)
		return ExitFailure
	case broken:
		say(p, "start fail: %s", msg)
		return ExitFailure
	}
	mode := "DEBUG"
	if daemon {
		mode = "DAEMON"
	}
	say(p, "start in %s mode", mode)
	if daemon {
		return launchDaemon(p)
	}
	if err := execMaster(); err != nil {
		note(fmt.Sprintf("cannot start the master with its process title (%v); it runs untitled", err))
	}
	return runMaster(p, ws, false, nil)
}
