package workerman

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/workerman-go/workerman/internal/unix"
)

// Supervision: the master starts the worker processes, reads what they
// tell it, restarts those that die, and stops them all.

// spawn starts one process of worker wi with id.
func (m *master) spawn(wi, id int) (*child, error) {
	w := m.ws[wi]
	fds, err := newSocketpair(unix.SOCK_STREAM)
	if err != nil {
		return nil, os.NewSyscallError("socketpair", err)
	}
	sfds, err := newSocketpair(unix.SOCK_SEQPACKET)
	if err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, os.NewSyscallError("socketpair", err)
	}
	sockConn, err := packetConn(sfds[0])
	if err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		unix.Close(sfds[1])
		return nil, err
	}
	info := childInfo{
		Worker: wi, ID: id, Name: w.Name, Listen: w.socketName,
		Daemon: m.daemon, Fd: m.listenFd(wi, id) >= 0, Master: os.Getpid(),
		Balance: m.balance[wi] != nil,
	}
	b, _ := json.Marshal(info)
	argv, env := titled(workerTitle(w, id), m.argv, m.env)
	env = append(env, envChild+"="+string(b))
	stdin := uintptr(0)
	if m.daemon {
		stdin = m.devnull.Fd()
	}
	// A descriptor of -1 is closed in the new process.
	listen := ^uintptr(0)
	if info.Fd {
		listen = uintptr(m.listenFd(wi, id))
	}
	files := []uintptr{stdin, 1, 2, uintptr(fds[1]), m.logFile.Fd(), listen, uintptr(sfds[1])}
	if info.Balance {
		files = append(files, m.balance[wi].files(m.balanceFds[wi])...)
	}
	pid, err := forkExec(m.exe, argv, env, files, m.creds[wi])
	unix.Close(fds[1])
	unix.Close(sfds[1])
	if err != nil {
		unix.Close(fds[0])
		sockConn.Close()
		return nil, fmt.Errorf("cannot start a process of worker %s: %w", w.Name, err)
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		unix.Close(fds[0])
		sockConn.Close()
		unix.Kill(pid, unix.SIGKILL)
		return nil, err
	}
	unix.SetNonblock(fds[0], true)
	c := &child{
		w: wi, id: id, pid: pid, proc: proc,
		fc:      newFrameConn(os.NewFile(uintptr(fds[0]), "workerman-child")),
		started: time.Now(),
		pending: make(map[uint64]func(*ctlMsg)),
		claimed: make(map[string]bool),
	}
	m.children[pid] = c
	go m.serveSockets(c, sockConn)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			msg, err := c.fc.Recv()
			if err != nil {
				return
			}
			m.loop.Post(func() { m.onChildMsg(c, msg) })
		}
	}()
	go func() {
		st, err := proc.Wait()
		var ws syscall.WaitStatus
		if err == nil {
			ws, _ = st.Sys().(syscall.WaitStatus)
		}
		// What the process said before it exited (why it failed) is
		// handled before its exit.
		select {
		case <-readDone:
		case <-time.After(time.Second):
		}
		m.loop.Post(func() { m.onChildExit(c, ws) })
	}()
	return c, nil
}

func (m *master) onChildMsg(c *child, msg *ctlMsg) {
	switch msg.Type {
	case "ready":
		if c.ready {
			return
		}
		c.ready = true
		if m.slots[c.w][c.id].cur == c {
			m.slots[c.w][c.id].failures = 0
		}
		if f := c.onReady; f != nil {
			c.onReady = nil
			f()
		}
		if m.slots[c.w][c.id].cur == c {
			m.releaseUnclaimed(c)
		}
	case "error":
		c.errText = msg.Error
	case "paused":
		if f := c.onPaused; f != nil {
			c.onPaused = nil
			f()
		}
	case "reply":
		if f := c.pending[msg.Seq]; f != nil {
			delete(c.pending, msg.Seq)
			f(msg)
		}
	case "reload":
		m.reload(msg.Graceful, nil)
	case "replaceme":
		m.replace(c, msg.Graceful)
	case "stopall":
		m.stop(msg.Graceful)
	}
}

// describeExit explains a wait status.
func describeExit(ws syscall.WaitStatus) string {
	switch {
	case ws.Signaled():
		return fmt.Sprintf("killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	case ws.Exited() && ws.ExitStatus() == 2:
		return "exit code 2: a panic or a fatal runtime error"
	case ws.Exited():
		return fmt.Sprintf("exit code %d", ws.ExitStatus())
	}
	return "status " + strconv.Itoa(statusCode(ws))
}

func (m *master) onChildExit(c *child, ws syscall.WaitStatus) {
	delete(m.children, c.pid)
	if c.killTimer != 0 {
		m.loop.DelTimer(c.killTimer)
		c.killTimer = 0
	}
	c.fc.Close()
	status := statusCode(ws)
	m.exits[c.w][status]++
	for seq, f := range c.pending {
		delete(c.pending, seq)
		f(nil)
	}
	w := m.ws[c.w]
	if b := m.balance[c.w]; b != nil {
		b.release(c.id, c.pid)
	}
	sl := m.slots[c.w][c.id]
	reason := describeExit(ws)
	if c.errText != "" {
		reason += ": " + c.errText
	}
	switch {
	case m.state == mStopping:
		if status != 0 {
			m.log.Info("process exited", "worker", w.Name, "id", c.id, "worker_pid", c.pid, "status", status, "reason", reason)
		}
		if len(m.children) == 0 {
			m.finish()
		}
		return
	case m.state == mStarting:
		where := "above"
		if m.daemon {
			where = "in StdoutFile"
			if StdoutFile == "" {
				where = "discarded: set StdoutFile to keep it"
			}
		}
		m.startFailed(fmt.Errorf("process %d of worker %s exited while starting (%s; its output is %s)", c.pid, w.Name, reason, where))
		return
	case sl.next == c:
		sl.next = nil
		if f := c.onFail; f != nil {
			c.onFail = nil
			f(reason)
		}
		return
	case c.retiring:
		if status != 0 {
			m.log.Warn("process exited", "worker", w.Name, "id", c.id, "worker_pid", c.pid, "status", status, "reason", reason)
		}
		if f := c.onPaused; f != nil {
			c.onPaused = nil
			f()
		}
		return
	}
	// A serving process died on its own.
	m.log.Error("WORKER EXIT UNEXPECTED", "worker", w.Name, "id", c.id, "worker_pid", c.pid, "status", status, "reason", reason)
	if sl.cur == c {
		sl.cur = nil
		if sl.next == nil {
			m.respawn(c.w, c.id, time.Since(c.started), c.ready)
		}
	}
}

// respawn replaces a process that died: at once, unless processes of this
// slot keep dying young, which backs off up to 5 seconds.
func (m *master) respawn(wi, id int, lived time.Duration, wasReady bool) {
	sl := m.slots[wi][id]
	var delay time.Duration
	if !wasReady || lived < time.Second {
		sl.failures++
		delay = min(100*time.Millisecond<<min(sl.failures-1, 6), 5*time.Second)
	}
	start := func() {
		sl.timer = 0
		if m.state != mRunning || sl.cur != nil || sl.next != nil {
			return
		}
		c, err := m.spawn(wi, id)
		if err != nil {
			m.log.Error("cannot restart process", "worker", m.ws[wi].Name, "id", id, "err", err)
			m.respawn(wi, id, 0, false)
			return
		}
		sl.cur = c
	}
	if delay == 0 {
		start()
		return
	}
	m.log.Warn("restarting process after a delay, as it keeps dying", "worker", m.ws[wi].Name, "id", id, "delay", delay)
	sl.timer = m.loop.AddTimer(delay, false, start)
}

// timeoutFor is how long a process may take to finish its connections.
func timeoutFor(graceful bool) time.Duration {
	if graceful {
		return GracefulStopTimeout
	}
	return StopTimeout
}

// tell sends a stop or retire order and arms the kill timer.
func (m *master) tell(c *child, typ string, graceful bool) {
	t := timeoutFor(graceful)
	c.fc.Send(&ctlMsg{Type: typ, Graceful: graceful, IntervalMS: int(t / time.Millisecond)})
	if c.killTimer != 0 {
		m.loop.DelTimer(c.killTimer)
	}
	c.killTimer = m.loop.AddTimer(t+killSlack, false, func() {
		c.killTimer = 0
		if _, ok := m.children[c.pid]; ok {
			m.log.Warn("killing a process that did not stop in time", "worker", m.ws[c.w].Name, "id", c.id, "worker_pid", c.pid, "timeout", t)
			c.proc.Kill()
		}
	})
}

// stop stops every process, then the master.
func (m *master) stop(graceful bool) {
	if m.state == mStopping {
		if !graceful && m.stopGraceful {
			m.stopGraceful = false
			for _, c := range m.children {
				m.tell(c, "stop", false)
			}
		}
		return
	}
	m.state = mStopping
	m.stopGraceful = graceful
	if m.startErr == nil {
		if graceful {
			m.log.Info(fmt.Sprintf("Workerman[%s] is gracefully stopping ...", m.p.name))
		} else {
			m.log.Info(fmt.Sprintf("Workerman[%s] is stopping ...", m.p.name))
		}
	}
	if m.startTimer != 0 {
		m.loop.DelTimer(m.startTimer)
		m.startTimer = 0
	}
	for _, r := range []*reloadRun{m.reloadCur, m.reloadNext} {
		if r != nil {
			for _, f := range r.waiters {
				f(&ctlMsg{Type: "error", Error: "the program is stopping"})
			}
		}
	}
	m.reloadCur, m.reloadNext = nil, nil
	for _, ss := range m.slots {
		for _, sl := range ss {
			if sl.timer != 0 {
				m.loop.DelTimer(sl.timer)
				sl.timer = 0
			}
		}
	}
	// New clients are refused from now on; the processes close their
	// copies of the sockets as they stop accepting.
	m.closeListeners()
	m.closeKept()
	for _, c := range m.children {
		m.tell(c, "stop", graceful)
	}
	if len(m.children) == 0 {
		m.finish()
	}
}

// finish removes the master's files and ends its loop.
func (m *master) finish() {
	for _, w := range m.ws {
		if w.socketName != "" && w.network() == "unix" && !w.ReusePort {
			os.Remove(w.ep.path)
		}
	}
	for _, path := range m.keptPaths {
		os.Remove(path)
	}
	m.cleanup()
	if m.startErr == nil {
		m.log.Info(fmt.Sprintf("Workerman[%s] has been stopped", m.p.name))
	}
	for f := range m.ctlWaiters {
		(*f)(&ctlMsg{Type: "error", Error: "the program has stopped"})
	}
	m.loop.Stop()
}
