//go:build unix

package workerman

import "syscall"

// How the master starts worker processes and reads their exit statuses on
// Unix systems; spawn_windows.go has the counterparts.

// credential is the user and group a worker process runs as.
type credential = syscall.Credential

// forkExec starts path with argv and env, the descriptors files as its
// 0, 1, 2, ..., and the user and group of cred (nil: the master's).
func forkExec(path string, argv, env []string, files []uintptr, cred *credential) (int, error) {
	return syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   env,
		Files: files,
		Sys:   &syscall.SysProcAttr{Credential: cred},
	})
}

// statusCode is the number an exit status is counted under.
func statusCode(ws syscall.WaitStatus) int { return int(ws) }

// waitStatus is the exit status counted under code.
func waitStatus(code int) syscall.WaitStatus { return syscall.WaitStatus(code) }
