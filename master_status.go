package workerman

import (
	"os"
	"runtime"
	"sort"
	"time"
)

// The status report: the master asks every process for its figures and
// adds what it knows itself (exits, memory, qps).

// busyAfter is how long a process may take to answer status before it is
// shown as busy.
const busyAfter = time.Second

// A qps figure needs two samples of a process's request count. The master
// keeps the last sample of each process; a status request takes one new
// sample when the kept one is between qpsMinAge and qpsMaxAge old (as
// status -d refreshing every second does), and otherwise two samples the
// requested interval apart.
const (
	qpsMinAge = 200 * time.Millisecond
	qpsMaxAge = 10 * time.Second
)

type sample struct {
	at    time.Time
	total int64
}

// status builds a status report.
func (m *master) status(interval time.Duration, reply func(*ctlMsg)) {
	fresh := len(m.children) > 0
	now := time.Now()
	for pid := range m.children {
		s, ok := m.samples[pid]
		if age := now.Sub(s.at); !ok || age < qpsMinAge || age > qpsMaxAge {
			fresh = false
		}
	}
	final := func() {
		m.gather("stats", busyAfter, func(rs map[*child]*ctlMsg) {
			reply(&ctlMsg{Type: "status", Status: m.buildReport(rs)})
		})
	}
	if fresh {
		final()
		return
	}
	m.gather("stats", busyAfter, func(rs map[*child]*ctlMsg) {
		m.keepSamples(rs)
		m.loop.AddTimer(interval, false, final)
	})
}

// keepSamples records request counts for the next qps figure.
func (m *master) keepSamples(rs map[*child]*ctlMsg) {
	now := time.Now()
	for pid := range m.samples {
		if _, ok := m.children[pid]; !ok {
			delete(m.samples, pid)
		}
	}
	for c, r := range rs {
		if r.Stats != nil {
			m.samples[c.pid] = sample{now, r.Stats.TotalRequest}
		}
	}
}

// buildReport makes a status report from the processes' answers.
func (m *master) buildReport(rs map[*child]*ctlMsg) *StatusReport {
	now := time.Now()
	r := &StatusReport{
		Version:       Version,
		GoVersion:     runtime.Version(),
		EventLoop:     "epoll",
		MasterPid:     os.Getpid(),
		Daemon:        m.daemon,
		StartTime:     m.startTime,
		UptimeSeconds: now.Sub(m.startTime).Seconds(),
		LoadAverage:   loadAverage(),
	}
	for wi, w := range m.ws {
		ws := WorkerStatus{Name: w.Name, Listen: listenName(w), Count: w.Count, Reloadable: w.Reloadable, Exits: []ExitCount{}}
		statuses := make([]int, 0, len(m.exits[wi]))
		for st := range m.exits[wi] {
			statuses = append(statuses, st)
		}
		sort.Ints(statuses)
		for _, st := range statuses {
			e := ExitCount{Status: st, Count: m.exits[wi][st], ExitCode: -1}
			s := waitStatus(st)
			if s.Exited() {
				e.ExitCode = s.ExitStatus()
			} else if s.Signaled() {
				e.Signal = int(s.Signal())
			}
			ws.Exits = append(ws.Exits, e)
		}
		r.Workers = append(r.Workers, ws)
	}
	kids := make([]*child, 0, len(m.children))
	for _, c := range m.children {
		kids = append(kids, c)
	}
	sort.Slice(kids, func(i, j int) bool {
		a, b := kids[i], kids[j]
		if a.w != b.w {
			return a.w < b.w
		}
		if a.id != b.id {
			return a.id < b.id
		}
		return a.pid < b.pid
	})
	for _, c := range kids {
		w := m.ws[c.w]
		ps := ProcessStatus{
			Pid: c.pid, Worker: w.Name, ID: c.id, Listen: listenName(w),
			MemoryBytes: processMemory(c.pid), Started: c.started, Retiring: c.retiring,
			Status: "idle",
		}
		st := rs[c]
		if st == nil || st.Stats == nil {
			ps.Status = "busy"
			ps.Connections, ps.SendFail, ps.Timers, ps.TotalRequest = -1, -1, -1, -1
		} else {
			ps.Connections, ps.SendFail, ps.Timers, ps.TotalRequest = st.Stats.Connections, st.Stats.SendFail, st.Stats.Timers, st.Stats.TotalRequest
			ps.Inner = st.Stats.Inner
			if prev, ok := m.samples[c.pid]; ok {
				if d := now.Sub(prev.at); d > 0 && st.Stats.TotalRequest >= prev.total {
					ps.QPS = float64(st.Stats.TotalRequest-prev.total) / d.Seconds()
				}
			}
		}
		r.Processes = append(r.Processes, ps)
	}
	m.keepSamples(rs)
	return r
}
