package workerman

import (
	"errors"
	"syscall"
)

// Windows has no master: RunAll serves in one process there (see
// worker_portable.go). These counterparts of spawn_unix.go only let the
// master's code build.

type credential struct {
	Uid, Gid uint32
	Groups   []uint32
}

func forkExec(string, []string, []string, []uintptr, *credential) (int, error) {
	return -1, errors.New("workerman: worker processes are not supported on Windows")
}

func statusCode(ws syscall.WaitStatus) int { return int(ws.ExitCode) }

func waitStatus(code int) syscall.WaitStatus { return syscall.WaitStatus{ExitCode: uint32(code)} }
