package workerman

import (
	"errors"
	"fmt"
	"os"
)

// Daemon mode and the re-executed master need POSIX sessions and exec
// (daemon.go). On Windows RunAll runs start in the foreground in one
// process (see worker_portable.go), so these are reached only through the
// environment variables of a process started by the Unix master.

var errNoMasterHere = errors.New("workerman: the master process and daemon mode are not supported on Windows; run start in the foreground")

func launchDaemon(paths) int {
	fmt.Fprintln(os.Stderr, errNoMasterHere)
	return ExitUsage
}

func execMaster() error { return errNoMasterHere }

func runForegroundMaster([]*Worker) int {
	fmt.Fprintln(os.Stderr, errNoMasterHere)
	return ExitFailure
}

func runDaemonMaster([]*Worker) int {
	fmt.Fprintln(os.Stderr, errNoMasterHere)
	return ExitFailure
}
