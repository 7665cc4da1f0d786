package workerman

import (
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
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
