package workerman

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/workerman-go/workerman/internal/unix"
)

// How the commands find the running master and talk to it.

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
