//go:build unix

package workerman

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/workerman-go/workerman/internal/unix"
)

// start -d: the launching process starts the program again as the daemon
// master, in a new session (so closing the terminal does not reach it),
// with standard input from /dev/null and standard output and error going
// to StdoutFile. The daemon reports over a pipe (its descriptor 3) what
// the terminal should show, and whether the start succeeded; the launcher
// prints it and exits with that status.

const daemonFdReport = 3

// launchDaemon starts the daemon master and relays its start report.
func launchDaemon(p paths) int {
	exe, err := programPath()
	if err != nil {
		say(p, "start fail: cannot find the program's executable: %v", err)
		return ExitFailure
	}
	outPath := StdoutFile
	if outPath == "" {
		outPath = os.DevNull
	}
	out, err := os.OpenFile(outPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		say(p, "start fail: cannot open StdoutFile: %v", err)
		return ExitFailure
	}
	defer out.Close()
	in, err := os.Open(os.DevNull)
	if err != nil {
		say(p, "start fail: %v", err)
		return ExitFailure
	}
	defer in.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		say(p, "start fail: %v", err)
		return ExitFailure
	}
	argv, env := titled(masterTitle(exe), os.Args, roleEnv())
	env = append(env, envDaemon+"=1")
	proc, err := os.StartProcess(exe, argv, &os.ProcAttr{
		Env:   env,
		Files: []*os.File{in, out, out, pw},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	pw.Close()
	if err != nil {
		pr.Close()
		say(p, "start fail: cannot start the daemon: %v", err)
		return ExitFailure
	}
	defer pr.Close()
	exited := make(chan struct{})
	go func() {
		// Reap the daemon if it fails during start; once it has reported
		// success the launcher exits and the daemon lives on.
		proc.Wait()
		close(exited)
	}()
	for {
		m, err := readFrame(pr)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				select {
				case <-exited:
				case <-time.After(2 * time.Second):
				}
				say(p, "start fail: the daemon exited before it finished starting; see %s and %s", outPath, p.log)
			} else {
				say(p, "start fail: reading the daemon's report: %v", err)
			}
			return ExitFailure
		}
		switch m.Type {
		case "out":
			fmt.Print(m.Text)
		case "result":
			return m.Code
		}
	}
}

// execMaster makes the launching process the foreground master: it starts
// the program again in its place (exec: same process, same terminal) with
// the master's title, and returns only if that fails; the caller then runs
// the master itself, untitled.
func execMaster() error {
	exe, err := programPath()
	if err != nil {
		return err
	}
	argv, env := titled(masterTitle(exe), os.Args, roleEnv())
	return syscall.Exec(exe, argv, append(env, envMaster+"=1"))
}

// runForegroundMaster is the foreground master started by execMaster.
func runForegroundMaster(ws []*Worker) int {
	p, err := resolvePaths()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return ExitFailure
	}
	return runMaster(p, ws, false, nil)
}

// runDaemonMaster is the daemon side of start -d.
func runDaemonMaster(ws []*Worker) int {
	unix.CloseOnExec(daemonFdReport)
	report := newFrameConn(os.NewFile(daemonFdReport, "workerman-report"))
	p, err := resolvePaths()
	if err != nil {
		report.Send(&ctlMsg{Type: "out", Text: err.Error() + "\n"})
		report.Send(&ctlMsg{Type: "result", Code: ExitFailure})
		report.Flush()
		return ExitFailure
	}
	return runMaster(p, ws, true, report)
}
