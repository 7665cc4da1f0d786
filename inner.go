package workerman

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/workerman-go/workerman/internal/unix"
)

// Inner workers are the workers a process creates and listens on itself,
// in OnWorkerStart. Their sockets belong to the process's slot (its worker
// and id) rather than to the process: the process gives the master a copy
// of each socket it binds, and the process that replaces it (after a
// reload, or after it died) receives that copy instead of binding again.
// So the old and the new process of a reload accept from one queue, as
// they do on the worker's own socket, and nothing queued is lost when the
// old one stops. The master lets a socket go when the slot's new process
// got ready without asking for it (the new code no longer has that inner
// worker), when the process closes it itself (Unlisten, Stop), and when
// everything stops.
//
// The two talk over a SOCK_SEQPACKET socket pair (the worker process's
// descriptor childFdSockets): one JSON sockMsg per packet, a socket
// travelling beside it as SCM_RIGHTS. A worker process asks and waits for
// the answer, on its loop: Listen is synchronous.

// sockMsg is a request of a worker process about a kept socket, or the
// master's answer.
type sockMsg struct {
	// Op is "get" (is there a socket for Key? it comes with the answer),
	// "put" (keep this socket as Key) or "drop" (close the kept Key).
	Op  string `json:"op,omitempty"`
	Key string `json:"key,omitempty"`
	// Path is the file of a Unix socket, removed when the master lets it go.
	Path string `json:"path,omitempty"`
	// OK answers get (a socket is attached), put and drop.
	OK    bool   `json:"ok,omitempty"`
	Error string `json:"error,omitempty"`
}

// maxSockMsg bounds one packet; keys are addresses.
const maxSockMsg = 8 << 10

// sockWait bounds how long a worker process waits for the master.
const sockWait = 10 * time.Second

// keepKey names a worker's socket among those of its slot.
func keepKey(w *Worker) string {
	return fmt.Sprintf("%s %s reuseport=%v backlog=%d socket=%+v", w.network(), w.socketName, w.ReusePort, w.Backlog, w.Socket)
}

// sockKeeper is a worker process's end of the socket pair.
type sockKeeper struct {
	conn *net.UnixConn
}

// openKeeper wraps the inherited descriptor, or returns nil when the
// master passed none.
func openKeeper(fd int) *sockKeeper {
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		return nil
	}
	uc, err := packetConn(fd)
	if err != nil {
		return nil
	}
	return &sockKeeper{conn: uc}
}

// call sends a request (with fd attached when fd >= 0) and returns the
// answer and the socket that came with it (-1 if none).
func (k *sockKeeper) call(req sockMsg, fd int) (sockMsg, int, error) {
	var ans sockMsg
	b, _ := json.Marshal(req)
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	k.conn.SetDeadline(time.Now().Add(sockWait))
	if _, _, err := k.conn.WriteMsgUnix(b, oob, nil); err != nil {
		return ans, -1, err
	}
	buf := make([]byte, maxSockMsg)
	rights := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := k.conn.ReadMsgUnix(buf, rights)
	if err != nil {
		return ans, -1, err
	}
	got := -1
	if fds := parseRights(rights[:oobn]); len(fds) > 0 {
		got = fds[0]
		for _, x := range fds[1:] {
			unix.Close(x)
		}
	}
	if err := json.Unmarshal(buf[:n], &ans); err != nil {
		if got >= 0 {
			unix.Close(got)
		}
		return ans, -1, fmt.Errorf("workerman: bad answer from the master: %w", err)
	}
	if ans.Error != "" {
		if got >= 0 {
			unix.Close(got)
		}
		return ans, -1, errors.New(ans.Error)
	}
	return ans, got, nil
}

// parseRights returns the descriptors in a control message.
func parseRights(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		if got, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, got...)
		}
	}
	return fds
}

// keptSocket returns the socket the master keeps for w in this process's
// slot, or -1.
func (k *sockKeeper) keptSocket(w *Worker) (int, error) {
	ans, fd, err := k.call(sockMsg{Op: "get", Key: keepKey(w)}, -1)
	if err != nil {
		return -1, err
	}
	if !ans.OK && fd >= 0 {
		unix.Close(fd)
		fd = -1
	}
	return fd, nil
}

// keep gives the master a copy of w's new socket.
func (k *sockKeeper) keep(w *Worker) error {
	path := ""
	if w.network() == "unix" {
		path = w.ep.path
	}
	_, fd, err := k.call(sockMsg{Op: "put", Key: keepKey(w), Path: path}, w.fd)
	if fd >= 0 {
		unix.Close(fd)
	}
	return err
}

// release tells the master to close its copy of w's socket.
func (k *sockKeeper) release(w *Worker) error {
	_, fd, err := k.call(sockMsg{Op: "drop", Key: keepKey(w)}, -1)
	if fd >= 0 {
		unix.Close(fd)
	}
	return err
}

// innerKeeper returns the keeper that w's socket goes through: in a worker
// process started by the master, for every worker but the process's own.
func innerKeeper(w *Worker) *sockKeeper {
	cp := theChild
	if cp == nil || cp.keeper == nil || w == cp.w {
		return nil
	}
	return cp.keeper
}

// openInnerSocket opens the socket of an inner worker: the one the master
// keeps for this slot, or a new one that the master then keeps.
func (w *Worker) openInnerSocket(k *sockKeeper) error {
	fd, err := k.keptSocket(w)
	if err != nil {
		logger().Warn("cannot ask the master for the socket of an inner worker; binding a new one", "worker", w.Name, "listen", w.socketName, "err", err)
	}
	if fd >= 0 {
		w.fd, w.hasFd, w.inherited, w.kept = fd, true, true, true
		return nil
	}
	if err := w.bindSocket(); err != nil {
		if errors.Is(err, unix.EADDRINUSE) && !w.ReusePort {
			// The manual's case: each process of a worker creating a
			// worker on the same port.
			return fmt.Errorf("%w; if each process of this program listens there in OnWorkerStart, set ReusePort = true on that worker so that they can share the port", err)
		}
		return err
	}
	if err := k.keep(w); err != nil {
		logger().Warn("the master cannot keep the socket of an inner worker; a reload will have to bind it again", "worker", w.Name, "listen", w.socketName, "err", err)
		return nil
	}
	// The master owns the socket from now on (and removes a Unix socket's
	// file when it lets it go).
	w.inherited, w.kept = true, true
	return nil
}

// packetConn wraps the master's end of a SOCK_SEQPACKET pair.
func packetConn(fd int) (*net.UnixConn, error) {
	f := os.NewFile(uintptr(fd), "workerman-sockets")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, errors.New("workerman: socket pair is not a Unix socket")
	}
	return uc, nil
}

// keptSock is a socket the master keeps for a slot.
type keptSock struct {
	fd   int
	path string
}

// serveSockets reads a worker process's socket requests and answers them
// on the master's loop.
func (m *master) serveSockets(c *child, conn *net.UnixConn) {
	defer conn.Close()
	buf := make([]byte, maxSockMsg)
	oob := make([]byte, unix.CmsgSpace(4*4))
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return
		}
		fds := parseRights(oob[:oobn])
		var req sockMsg
		jerr := json.Unmarshal(buf[:n], &req)
		done := make(chan struct{})
		m.loop.Post(func() {
			defer close(done)
			var ans sockMsg
			var give = -1
			if jerr != nil {
				ans.Error = "bad request: " + jerr.Error()
			} else {
				ans, give, fds = m.onSockMsg(c, &req, fds)
			}
			b, _ := json.Marshal(ans)
			var rights []byte
			if give >= 0 {
				rights = unix.UnixRights(give)
			}
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			conn.WriteMsgUnix(b, rights, nil)
		})
		select {
		case <-done:
		case <-m.done:
			return
		}
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
}

// onSockMsg answers one request. It returns the answer, the socket to
// send with it (-1 for none) and the received descriptors it did not
// keep, to be closed.
func (m *master) onSockMsg(c *child, req *sockMsg, fds []int) (sockMsg, int, []int) {
	if c.w >= len(m.slots) || c.id >= len(m.slots[c.w]) || len(req.Key) > 1024 {
		return sockMsg{Error: "bad request"}, -1, fds
	}
	sl := m.slots[c.w][c.id]
	switch req.Op {
	case "get":
		ks, ok := sl.kept[req.Key]
		if !ok || m.state == mStopping {
			return sockMsg{}, -1, fds
		}
		c.claimed[req.Key] = true
		return sockMsg{OK: true}, ks.fd, fds
	case "put":
		if len(fds) != 1 {
			return sockMsg{Error: "put needs exactly one socket"}, -1, fds
		}
		if t, err := unix.GetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_TYPE); err != nil || (t != unix.SOCK_STREAM && t != unix.SOCK_DGRAM) {
			return sockMsg{Error: "put needs a socket"}, -1, fds
		}
		if m.state == mStopping {
			return sockMsg{Error: "the program is stopping"}, -1, fds
		}
		if old, ok := sl.kept[req.Key]; ok {
			unix.Close(old.fd)
		}
		if sl.kept == nil {
			sl.kept = make(map[string]keptSock)
		}
		sl.kept[req.Key] = keptSock{fd: fds[0], path: req.Path}
		c.claimed[req.Key] = true
		return sockMsg{OK: true}, -1, nil
	case "drop":
		if ks, ok := sl.kept[req.Key]; ok {
			m.letGo(sl, req.Key, ks)
		}
		delete(c.claimed, req.Key)
		return sockMsg{OK: true}, -1, fds
	}
	return sockMsg{Error: fmt.Sprintf("unknown request %q", req.Op)}, -1, fds
}

// letGo closes a kept socket.
func (m *master) letGo(sl *slot, key string, ks keptSock) {
	delete(sl.kept, key)
	unix.Close(ks.fd)
	if ks.path != "" {
		os.Remove(ks.path)
	}
}

// releaseUnclaimed lets go of the sockets of a slot that its new process
// c did not ask for while it started.
func (m *master) releaseUnclaimed(c *child) {
	sl := m.slots[c.w][c.id]
	for key, ks := range sl.kept {
		if !c.claimed[key] {
			m.log.Info("closing the socket of an inner worker the new process no longer listens on", "worker", m.ws[c.w].Name, "id", c.id, "socket", key)
			m.letGo(sl, key, ks)
		}
	}
}

// closeKept closes every kept socket (stop); their Unix socket files are
// removed once the processes have stopped.
func (m *master) closeKept() {
	for _, ss := range m.slots {
		for _, sl := range ss {
			for key, ks := range sl.kept {
				delete(sl.kept, key)
				unix.Close(ks.fd)
				if ks.path != "" {
					m.keptPaths = append(m.keptPaths, ks.path)
				}
			}
		}
	}
}
