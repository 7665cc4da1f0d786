package workerman

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/workerman-go/workerman/eventloop"
)

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
