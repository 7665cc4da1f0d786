package workerman

import "fmt"

// Rolling reload: the processes of each worker in turn are replaced by
// new ones running the binary now on disk. All the new processes of a
// worker start first, and once every one of them accepts, all the old ones
// stop accepting together and finish their connections: capacity never
// dips, and a client that an old process says goodbye to (a WebSocket
// close frame, an HTTP "Connection: close") reconnects to a new process
// rather than to an old one about to go, so each long-lived connection
// moves once per reload. A new process that fails to start fails the
// reload: the new processes of that worker are stopped again, its old
// processes keep serving, and the workers after it are left as they are.

// reloadRun is one rolling reload: the processes still to replace, worker
// by worker, and the command lines waiting for its outcome.
type reloadRun struct {
	graceful bool
	groups   [][]*child
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

// replace reloads one process, on its own request (SIGUSR1, SIGUSR2 sent
// to it): a new process takes its place as in a reload. A process of a
// worker that is not Reloadable only runs OnWorkerReload.
func (m *master) replace(c *child, graceful bool) {
	w := m.ws[c.w]
	sl := m.slots[c.w][c.id]
	switch {
	case m.state != mRunning || sl.cur != c || c.retiring:
		return
	case !w.Reloadable:
		c.fc.Send(&ctlMsg{Type: "reload"})
		return
	case m.reloadCur != nil:
		m.log.Warn("a reload is in progress; the process is replaced by it", "worker", w.Name, "id", c.id, "worker_pid", c.pid)
		return
	}
	m.log.Info(fmt.Sprintf("Workerman[%s] replacing a process on its signal", m.p.name), "worker", w.Name, "id", c.id, "worker_pid", c.pid, "graceful", graceful)
	m.reloadCur = &reloadRun{graceful: graceful, groups: [][]*child{{c}}}
	m.reloadStep()
}

func (m *master) startReload(r *reloadRun) {
	m.reloadCur = r
	mode := ""
	if r.graceful {
		mode = " gracefully"
	}
	m.log.Info(fmt.Sprintf("Workerman[%s] reloading%s", m.p.name, mode))
	for wi, w := range m.ws {
		var group []*child
		for _, sl := range m.slots[wi] {
			if sl.cur == nil {
				continue
			}
			if w.Reloadable {
				group = append(group, sl.cur)
			} else {
				sl.cur.fc.Send(&ctlMsg{Type: "reload"})
			}
		}
		if len(group) > 0 {
			r.groups = append(r.groups, group)
		}
	}
	m.reloadStep()
}

// reloadStep replaces the processes of the next worker: it starts a new
// process for each, waits until all of them accept, then retires the old
// ones together.
func (m *master) reloadStep() {
	r := m.reloadCur
	if r == nil || m.state != mRunning {
		return
	}
	for len(r.groups) > 0 {
		group := r.groups[0]
		r.groups = r.groups[1:]
		type swap struct {
			old, nc *child
			timer   int
		}
		var swaps []*swap
		failure := ""
		for _, old := range group {
			sl := m.slots[old.w][old.id]
			if sl.cur != old || sl.next != nil {
				// It died and was replaced meanwhile, by the binary on disk.
				continue
			}
			nc, err := m.spawn(old.w, old.id)
			if err != nil {
				failure = err.Error()
				break
			}
			sl.next = nc
			swaps = append(swaps, &swap{old: old, nc: nc})
		}
		if len(swaps) == 0 && failure == "" {
			continue
		}
		pending := len(swaps)
		// settle runs once every new process of the group is ready or has
		// failed: on success the old ones retire, on failure the new ones.
		settle := func() {
			if m.reloadCur != r || m.state != mRunning {
				// Stopping: the stop has told every process already.
				return
			}
			if failure != "" {
				for _, x := range swaps {
					sl := m.slots[x.nc.w][x.nc.id]
					if sl.next == x.nc {
						sl.next = nil
						if _, alive := m.children[x.nc.pid]; alive {
							x.nc.retiring = true
							m.tell(x.nc, "stop", r.graceful)
						}
					}
					if sl.cur == nil && m.state == mRunning {
						// The old one died meanwhile.
						m.respawn(x.old.w, x.old.id, 0, false)
					}
				}
				m.reloadDone(failure + "; the running processes keep serving")
				return
			}
			retiring := 0
			done := func() {
				retiring--
				if retiring == 0 {
					m.reloadStep()
				}
			}
			var olds []*child
			for _, x := range swaps {
				sl := m.slots[x.nc.w][x.nc.id]
				sl.next = nil
				sl.cur = x.nc
				m.releaseUnclaimed(x.nc)
				if prev := x.old; prev != nil && !prev.retiring {
					olds = append(olds, prev)
				}
			}
			if len(olds) == 0 {
				m.reloadStep()
				return
			}
			retiring = len(olds)
			for _, prev := range olds {
				m.retire(prev, r.graceful, done)
			}
		}
		if pending == 0 {
			settle()
			return
		}
		for _, x := range swaps {
			x := x
			nc := x.nc
			x.timer = m.loop.AddTimer(StartTimeout, false, func() {
				if !nc.ready {
					nc.errText = fmt.Sprintf("not ready within %v (StartTimeout)", StartTimeout)
					nc.proc.Kill()
				}
			})
			nc.onReady = func() {
				m.loop.DelTimer(x.timer)
				if pending--; pending == 0 {
					settle()
				}
			}
			nc.onFail = func(reason string) {
				m.loop.DelTimer(x.timer)
				if failure == "" {
					failure = fmt.Sprintf("the new process %d of worker %s failed to start (%s)", nc.pid, m.ws[nc.w].Name, reason)
				}
				if pending--; pending == 0 {
					settle()
				}
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
