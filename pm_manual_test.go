package workerman_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/workerman-go/workerman"
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
