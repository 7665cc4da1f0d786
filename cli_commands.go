package workerman

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// The commands that act on a running master (stop, reload, status,
// connections) and start.

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
