package workerman

import (
	"fmt"
	"net"
	"os"
	"sort"
	"time"
)

// The master's side of the command line: it answers requests on its Unix
// control socket, asking the worker processes where a command needs them.

// openControl opens the control socket beside the pid file, readable and
// writable by the master's user only.
func (m *master) openControl() error {
	if c, err := net.DialTimeout("unix", m.p.sock, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("already running: a master answers on the control socket %s", m.p.sock)
	}
	os.Remove(m.p.sock)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: m.p.sock, Net: "unix"})
	if err != nil {
		return fmt.Errorf("cannot open the control socket: %w", err)
	}
	if err := os.Chmod(m.p.sock, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("cannot restrict the control socket: %w", err)
	}
	m.ctl = ln
	go m.serveControl(ln)
	return nil
}

// serveControl answers the command line.
func (m *master) serveControl(ln *net.UnixListener) {
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		go m.controlConn(c)
	}
}

func (m *master) controlConn(c *net.UnixConn) {
	defer c.Close()
	if err := checkPeer(c); err != nil {
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		writeFrame(c, &ctlMsg{Type: "error", Error: err.Error()})
		return
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	req, err := readFrame(c)
	if err != nil {
		return
	}
	m.replying.Add(1)
	defer m.replying.Add(-1)
	replies := make(chan *ctlMsg, 1)
	reply := func(r *ctlMsg) {
		select {
		case replies <- r:
		default:
		}
	}
	m.loop.Post(func() {
		m.ctlWaiters[&reply] = struct{}{}
		m.handleControl(req, func(r *ctlMsg) {
			delete(m.ctlWaiters, &reply)
			reply(r)
		})
	})
	var r *ctlMsg
	select {
	case r = <-replies:
	case <-m.done:
		select {
		case r = <-replies:
		default:
			r = &ctlMsg{Type: "error", Error: "the program has stopped"}
		}
	}
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	writeFrame(c, r)
}

// checkPeer lets only the master's own user (and root) in.
func checkPeer(c *net.UnixConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var uid int
	var cerr error
	raw.Control(func(fd uintptr) {
		uid, cerr = peerUID(int(fd))
	})
	if cerr != nil {
		return cerr
	}
	if uid != 0 && uid != os.Geteuid() {
		return fmt.Errorf("permission denied: user %d may not control a master run by user %d", uid, os.Geteuid())
	}
	return nil
}

func (m *master) handleControl(req *ctlMsg, reply func(*ctlMsg)) {
	switch req.Type {
	case "hello":
		reply(&ctlMsg{Type: "hello", Pid: os.Getpid(), Version: Version})
	case "stop":
		reply(&ctlMsg{Type: "ok", Pid: os.Getpid()})
		m.stop(req.Graceful)
	case "reload":
		m.reload(req.Graceful, reply)
	case "status":
		iv := time.Duration(req.IntervalMS) * time.Millisecond
		if iv <= 0 || iv > time.Minute {
			iv = time.Second
		}
		m.status(iv, reply)
	case "conns":
		m.gather("conns", 3*busyAfter, func(rs map[*child]*ctlMsg) {
			out := &ctlMsg{Type: "conns", Conns: []ConnectionInfo{}}
			busy := 0
			for _, c := range m.children {
				if rs[c] == nil {
					busy++
				}
			}
			for _, r := range rs {
				out.Conns = append(out.Conns, r.Conns...)
			}
			sort.Slice(out.Conns, func(i, j int) bool {
				a, b := out.Conns[i], out.Conns[j]
				if a.Pid != b.Pid {
					return a.Pid < b.Pid
				}
				return a.ID < b.ID
			})
			if busy > 0 {
				out.Error = fmt.Sprintf("%d busy process(es) did not answer; their connections are not listed", busy)
			}
			reply(out)
		})
	default:
		reply(&ctlMsg{Type: "error", Error: fmt.Sprintf("unknown request %q", req.Type)})
	}
}

// gather asks every live process a question and calls done with the
// answers that came within wait; a process that did not answer is busy.
func (m *master) gather(typ string, wait time.Duration, done func(map[*child]*ctlMsg)) {
	replies := make(map[*child]*ctlMsg)
	pending := 0
	finished := false
	timer := 0
	finish := func() {
		if finished {
			return
		}
		finished = true
		if timer != 0 {
			m.loop.DelTimer(timer)
		}
		done(replies)
	}
	for _, c := range m.children {
		c := c
		m.seq++
		pending++
		c.pending[m.seq] = func(r *ctlMsg) {
			if r != nil {
				replies[c] = r
			}
			pending--
			if pending == 0 {
				finish()
			}
		}
		c.fc.Send(&ctlMsg{Type: typ, Seq: m.seq})
	}
	if pending == 0 {
		finish()
		return
	}
	timer = m.loop.AddTimer(wait, false, func() { timer = 0; finish() })
}
