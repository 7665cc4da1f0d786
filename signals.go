//go:build unix

package workerman

import (
	"os"
	"os/signal"
	"syscall"
)

// Signals. The command line talks to the master over its control socket,
// but the master and the worker processes also answer signals, as
// Workerman's do, so that kill, systemd and supervisors can drive them:
//
//	signal    master       a worker process             manual (3.x)  Workerman 5
//	INT       stop         ignored (*)                  stop          stop
//	TERM      stop         stops, is replaced           -             stop
//	HUP       stop         ignored (*)                  -             stop
//	QUIT      stop -g      stops gracefully, replaced   -             stop -g
//	USR1      reload       replaced, as by reload       reload        reload
//	USR2      reload -g    replaced, as by reload -g    status        reload -g
//	TSTP      suspends     suspends                     suspends      stop
//	ABRT/IOT  stack dump   stack dump                   -             status
//	IO        ignored      ignored                      -             connections
//
// (*) Ctrl-C and a closed terminal send INT and HUP to every process of
// the foreground group; the master then stops the worker processes
// itself, in order, so they ignore them.
//
// Where we differ, and why:
//
//   - USR2 is reload -g, as in Workerman 5, not the manual's status (the
//     status command asks the master over its control socket; no status
//     file is written).
//   - TSTP suspends, as in the manual (its 停止失败 section: Ctrl-Z, then
//     fg), where Workerman 5 stops; the stop command notices a suspended
//     master and says so. The kernel discards TSTP sent to a daemon (its
//     process group has no parent in the session); STOP suspends one.
//   - ABRT (IOT) and IO are Workerman 5's status and connections dumps.
//     Here ABRT keeps Go's meaning, which is what one wants from a stuck
//     worker process: the stack of every goroutine on standard error
//     (StdoutFile for a daemon), then exit status 2 (the master starts
//     another). IO is ignored, so a Workerman 5 habit does no harm.
//   - A worker process that receives TERM or QUIT stops (QUIT lets its
//     connections finish, within GracefulStopTimeout), runs OnWorkerStop,
//     and the master starts another in its place once it has exited,
//     logging WORKER EXIT UNEXPECTED with status 0. USR1 and USR2 are
//     gentler: the master starts the new process first and retires the old
//     one only when the new one accepts, as a reload does for every
//     process; a worker that is not Reloadable only runs OnWorkerReload.
//   - KILL ends a process at once; the master starts another and counts
//     status 9, as the manual describes.

// installSignals makes the master answer its signals.
func (m *master) installSignals() {
	m.loop.OnSignal(syscall.SIGINT, func(os.Signal) { m.stop(false) })
	m.loop.OnSignal(syscall.SIGTERM, func(os.Signal) { m.stop(false) })
	m.loop.OnSignal(syscall.SIGHUP, func(os.Signal) { m.stop(false) })
	m.loop.OnSignal(syscall.SIGQUIT, func(os.Signal) { m.stop(true) })
	m.loop.OnSignal(syscall.SIGUSR1, func(os.Signal) { m.reload(false, nil) })
	m.loop.OnSignal(syscall.SIGUSR2, func(os.Signal) { m.reload(true, nil) })
	signal.Ignore(syscall.SIGIO)
}

// installSignals makes a worker process answer its signals.
func (cp *childProc) installSignals() {
	l := theProc().loop
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGIO)
	l.OnSignal(syscall.SIGTERM, func(os.Signal) { cp.stop(true, StopTimeout, false) })
	l.OnSignal(syscall.SIGQUIT, func(os.Signal) { cp.stop(false, GracefulStopTimeout, false) })
	l.OnSignal(syscall.SIGUSR1, func(os.Signal) { cp.fc.Send(&ctlMsg{Type: "replaceme"}) })
	l.OnSignal(syscall.SIGUSR2, func(os.Signal) { cp.fc.Send(&ctlMsg{Type: "replaceme", Graceful: true}) })
}
