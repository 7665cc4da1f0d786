//go:build linux

package workerman_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"golang.org/x/sys/unix"
)

// testDaemonizeField: Daemonize = true makes a plain start a daemon start,
// as start -d: the command returns once the workers run, and the master
// leads a session of its own.
func testDaemonizeField(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1, "SVC_DAEMONIZE=1")
	out := s.must("start")
	for _, want := range []string{"start in DAEMON mode", "Start success."} {
		if !strings.Contains(out, want) {
			t.Fatalf("start with Daemonize lacks %q:\n%s", want, out)
		}
	}
	mp := pmMasterPid(t, s)
	if sid := pmSessionID(t, mp); sid != mp || sid == pmSessionID(t, os.Getpid()) {
		t.Errorf("master %d in session %d: want a session of its own", mp, sid)
	}
	if p := pmParsePong(t, s.mustAsk("ping")); p.version != "v1" {
		t.Errorf("ping %+v", p)
	}
	if r := s.status(); !r.Daemon || r.MasterPid != mp {
		t.Errorf("status: daemon %v master %d, want true %d", r.Daemon, r.MasterPid, mp)
	}
	s.must("stop")
	if pmAlive(mp) {
		t.Errorf("master %d still alive after stop", mp)
	}
}

// testInnerSamePort: each process of a worker listening on the same port
// in OnWorkerStart without ReusePort fails with "Address already in use",
// as the manual says, and the error tells how to share the port.
func testInnerSamePort(t *testing.T, bins pmBins) {
	port := pmFreePort(t)
	s := newSvc(t, bins.v1, fmt.Sprintf("SVC_INNER_SAME=text://127.0.0.1:%d", port))
	out, code := s.run("start", "-d")
	if code != workerman.ExitFailure {
		t.Fatalf("start: exit %d, want %d\n%s", code, workerman.ExitFailure, out)
	}
	for _, want := range []string{"address already in use", "ReusePort = true"} {
		if !strings.Contains(out, want) {
			t.Errorf("start output lacks %q:\n%s\nlog:\n%s", want, out, s.read("svc.log"))
		}
	}
}

// testSocketOptions: the socket options reach the sockets the master
// opens for the worker's processes (shared, and one per process with
// ReusePort), the copies the processes inherit, their accepted
// connections, and the sockets of inner workers (in the process and in
// the master, which keeps them across reloads).
func testSocketOptions(t *testing.T, bins pmBins) {
	for _, reuse := range []string{"0", "1"} {
		base := pmFreePorts(t, 2)
		s := newSvc(t, bins.v1, "SVC_SOCKOPTS=1", "SVC_REUSEPORT="+reuse, fmt.Sprintf("SVC_INNER_BASE=%d", base))
		s.startDaemon()
		mp := pmMasterPid(t, s)
		procs := pmWorkerProcs(s.status(), "svc")
		if len(procs) != 2 {
			t.Fatalf("processes %v", procs)
		}
		noReuseAddr := func(who string, fd int) {
			t.Helper()
			if fd < 0 {
				t.Fatalf("reuseport=%s: %s: socket not found", reuse, who)
			}
			if v := sockopt(t, fd, unix.SOL_SOCKET, unix.SO_REUSEADDR); v != 0 {
				t.Errorf("reuseport=%s: %s: SO_REUSEADDR = %d, want 0 (NoReuseAddr)", reuse, who, v)
			}
			if v := sockopt(t, fd, unix.SOL_SOCKET, unix.SO_REUSEPORT); v != map[string]int{"0": 0, "1": 1}[reuse] {
				t.Errorf("reuseport=%s: %s: SO_REUSEPORT = %d", reuse, who, v)
			}
		}
		noReuseAddr("master's socket", procSocket(t, mp, isListener(s.port, unix.SOCK_STREAM)))
		for id, pid := range procs {
			noReuseAddr(fmt.Sprintf("process %d's socket", id), procSocket(t, pid, isListener(s.port, unix.SOCK_STREAM)))
			// Inner workers never use ReusePort here: check SO_REUSEADDR only.
			fd := procSocket(t, pid, isListener(base+id, unix.SOCK_STREAM))
			if fd < 0 || sockopt(t, fd, unix.SOL_SOCKET, unix.SO_REUSEADDR) != 0 {
				t.Errorf("reuseport=%s: inner worker of process %d: socket %d without NoReuseAddr", reuse, id, fd)
			}
			fd = procSocket(t, mp, isListener(base+id, unix.SOCK_STREAM))
			if fd < 0 || sockopt(t, fd, unix.SOL_SOCKET, unix.SO_REUSEADDR) != 0 {
				t.Errorf("reuseport=%s: the master's copy of inner worker %d: socket %d without NoReuseAddr", reuse, id, fd)
			}
		}
		// An accepted connection keeps Nagle's algorithm.
		c, err := net.DialTimeout("tcp", s.addr(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("ping\n"))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		p := pmParsePong(t, strings.TrimSpace(line))
		fd := procSocket(t, p.pid, isAccepted(c.LocalAddr()))
		if fd < 0 {
			t.Fatalf("reuseport=%s: accepted socket not found in process %d", reuse, p.pid)
		}
		if v := sockopt(t, fd, unix.IPPROTO_TCP, unix.TCP_NODELAY); v != 0 {
			t.Errorf("reuseport=%s: accepted connection's TCP_NODELAY = %d, want 0 (Nagle)", reuse, v)
		}
		c.Close()
		s.must("stop")
	}
}
