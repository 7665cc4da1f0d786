package workerman

import "fmt"

// Rolling reload: each old process is replaced by a new one running the
// binary now on disk, one at a time, the new one accepting before the old
// one stops.

// reloadRun is one rolling reload: the processes still to replace, and
// the command lines waiting for its outcome.
type reloadRun struct {
	graceful bool
	queue    []*child
	waiters  []func(*ctlMsg)
}

// reload starts a rolling reload, or queues one behind the reload in
// progress. reply, if not nil, receives the outcome.
func (m *master) reload(graceful bool, reply func(*ctlMsg)) {
	if m.state != mRunning {
		if reply != nil {
			what := "starting"
			if m.state == mStopping {
				what = "stopping"
			}
			reply(&ctlMsg{Type: "error", Error: "the program is " + what})
		}
		return
	}
	if m.reloadCur != nil {
		if m.reloadNext == nil {
			m.reloadNext = &reloadRun{}
		}
		m.reloadNext.graceful = graceful
		if reply != nil {
			m.reloadNext.waiters = append(m.reloadNext.waiters, reply)
		}
		return
	}
	r := &reloadRun{graceful: graceful}
	if reply != nil {
		r.waiters = append(r.waiters, reply)
	}
	m.startReload(r)
}

func (m *master) startReload(r *reloadRun) {
	m.reloadCur = r
	mode := ""
	if r.graceful {
		mode = " gracefully"
	}
	m.log.Info(fmt.Sprintf("Workerman[%s] reloading%s", m.p.name, mode))
	for wi, w := range m.ws {
		for _, sl := range m.slots[wi] {
			if sl.cur == nil {
				continue
			}
			if w.Reloadable {
				r.queue = append(r.queue, sl.cur)
			} else {
				sl.cur.fc.Send(&ctlMsg{Type: "reload"})
			}
		}
	}
	m.reloadStep()
}

// reloadStep replaces the next old process: it starts the new one, waits
// until it accepts, then retires the old one, so capacity never dips.
func (m *master) reloadStep() {
	r := m.reloadCur
	if r == nil || m.state != mRunning {
		return
	}
	for len(r.queue) > 0 {
		old := r.queue[0]
		r.queue = r.queue[1:]
		sl := m.slots[old.w][old.id]
		if sl.cur != old || sl.next != nil {
			// It died and was replaced meanwhile, by the binary on disk.
			continue
		}
		nc, err := m.spawn(old.w, old.id)
		if err != nil {
			m.reloadDone(err.Error())
			return
		}
		sl.next = nc
		timer := m.loop.AddTimer(StartTimeout, false, func() {
			if !nc.ready {
				nc.errText = fmt.Sprintf("not ready within %v (StartTimeout)", StartTimeout)
				nc.proc.Kill()
			}
		})
		nc.onReady = func() {
			m.loop.DelTimer(timer)
			sl.next = nil
			prev := sl.cur
			sl.cur = nc
			if prev == nil || prev.retiring {
				m.reloadStep()
				return
			}
			m.retire(prev, r.graceful, m.reloadStep)
		}
		nc.onFail = func(reason string) {
			m.loop.DelTimer(timer)
			m.reloadDone(fmt.Sprintf("the new process %d of worker %s failed to start (%s); the running processes keep serving", nc.pid, m.ws[nc.w].Name, reason))
			if sl.cur == nil && m.state == mRunning {
				m.respawn(nc.w, nc.id, 0, false)
			}
		}
		return
	}
	m.reloadDone("")
}

// retire tells an old process to stop accepting and finish; then runs
// once it has stopped accepting (or exited).
func (m *master) retire(c *child, graceful bool, then func()) {
	c.retiring = true
	if _, ok := m.children[c.pid]; !ok {
		then()
		return
	}
	c.onPaused = then
	m.tell(c, "retire", graceful)
}

func (m *master) reloadDone(failure string) {
	r := m.reloadCur
	m.reloadCur = nil
	if r == nil {
		return
	}
	var reply *ctlMsg
	if failure != "" {
		m.log.Error(fmt.Sprintf("Workerman[%s] reload failed", m.p.name), "err", failure)
		reply = &ctlMsg{Type: "error", Error: failure}
	} else {
		m.log.Info(fmt.Sprintf("Workerman[%s] reloaded", m.p.name))
		reply = &ctlMsg{Type: "ok"}
	}
	for _, f := range r.waiters {
		f(reply)
	}
	if n := m.reloadNext; n != nil && m.state == mRunning {
		m.reloadNext = nil
		m.startReload(n)
	}
}
