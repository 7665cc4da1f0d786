//go:build linux

package workerman_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
)

// The command line: usage, start in the foreground and as a daemon, stop,
// restart, pid files, start failures, the program's own flags.

func testUsage(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	for _, args := range [][]string{{}, {"bogus"}, {"status", "-g"}, {"start", "stop"}, {"--", "-d"}} {
		out, code := s.run(args...)
		if code != workerman.ExitUsage || !strings.Contains(out, "Usage:") {
			t.Errorf("%q: exit %d, want %d with usage\n%s", args, code, workerman.ExitUsage, out)
		}
	}
	out, code := s.run("help")
	if code != 0 || !strings.Contains(out, "connections") {
		t.Errorf("help: exit %d\n%s", code, out)
	}
	for _, cmd := range []string{"status", "connections", "reload"} {
		out, code := s.run(cmd)
		if code != workerman.ExitNotRunning || !strings.Contains(out, "not run") {
			t.Errorf("%s with nothing running: exit %d, want %d\n%s", cmd, code, workerman.ExitNotRunning, out)
		}
	}
	// stop succeeds: what was asked for is the case (see ExitOK).
	if out, code := s.run("stop"); code != 0 || !strings.Contains(out, "not run") {
		t.Errorf("stop with nothing running: exit %d\n%s", code, out)
	}
	// --json says it in JSON, on standard output.
	for _, args := range [][]string{{"status", "--json"}, {"connections", "--json"}, {"status", "-d", "--json"}} {
		stdout, stderr, code := s.runSplit(args...)
		var e workerman.JSONError
		if err := json.Unmarshal([]byte(stdout), &e); err != nil || e.Error != "not running" || e.ExitCode != workerman.ExitNotRunning || e.Program != "svc" {
			t.Errorf("%v with nothing running: %v %+v\nstdout: %s\nstderr: %s", args, err, e, stdout, stderr)
		}
		if code != workerman.ExitNotRunning {
			t.Errorf("%v with nothing running: exit %d, want %d", args, code, workerman.ExitNotRunning)
		}
	}
}

func testForeground(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	f := s.startForeground(false)
	out := f.output()
	for _, want := range []string{"start in DEBUG mode", "Press Ctrl+C to stop.", "svc v1 started: id 0", "svc v1 started: id 1", "text://127.0.0.1:" + strconv.Itoa(s.port)} {
		if !strings.Contains(out, want) {
			t.Errorf("start output lacks %q:\n%s", want, out)
		}
	}
	p := pmParsePong(t, s.mustAsk("ping"))
	if p.version != "v1" || p.greeting != "hello" {
		t.Errorf("ping: %+v", p)
	}
	r := s.status()
	procs := pmWorkerProcs(r, "svc")
	if len(procs) != 2 || procs[0] == 0 || procs[1] == 0 || procs[0] == procs[1] {
		t.Fatalf("processes by id: %v (report %+v)", procs, r)
	}
	if r.MasterPid != f.cmd.Process.Pid || r.Daemon {
		t.Errorf("master pid %d daemon %v, want %d false", r.MasterPid, r.Daemon, f.cmd.Process.Pid)
	}
	stopOut := s.must("stop")
	if !strings.Contains(stopOut, "stop success") {
		t.Errorf("stop: %s", stopOut)
	}
	if code := f.wait(t); code != 0 {
		t.Errorf("foreground master exit %d\n%s", code, f.output())
	}
	for id, pid := range procs {
		if pmAlive(pid) {
			t.Errorf("process %d (id %d) still pmAlive after stop", pid, id)
		}
	}
	for _, name := range []string{"svc.pid", "svc.sock"} {
		if _, err := os.Stat(filepath.Join(s.dir, name)); err == nil {
			t.Errorf("%s left behind after stop", name)
		}
	}
	if _, err := s.ask("ping"); err == nil {
		t.Error("the port still answers after stop")
	}
	log := s.read("svc.log")
	for _, want := range []string{"started", "is stopping", "has been stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("log file lacks %q:\n%s", want, log)
		}
	}
}

func testCtrlC(t *testing.T, bins pmBins) {
	// Ctrl-C sends SIGINT to the whole foreground process group; closing
	// the terminal sends SIGHUP. Either stops everything.
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) { testTerminalSignal(t, bins, sig) })
	}
}

func testTerminalSignal(t *testing.T, bins pmBins, sig syscall.Signal) {
	s := newSvc(t, bins.v1)
	f := s.startForeground(true)
	procs := pmWorkerProcs(s.status(), "svc")
	if err := syscall.Kill(-f.cmd.Process.Pid, sig); err != nil {
		t.Fatal(err)
	}
	if code := f.wait(t); code != 0 {
		t.Errorf("exit %d after %v\n%s", code, sig, f.output())
	}
	for _, pid := range procs {
		if pmAlive(pid) {
			t.Errorf("process %d survived %v", pid, sig)
		}
	}
	if !strings.Contains(f.output(), "has been stopped") {
		t.Errorf("output:\n%s", f.output())
	}
}

func testDaemon(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	mp := pmMasterPid(t, s)
	if !pmAlive(mp) {
		t.Fatalf("master %d not alive", mp)
	}
	// A daemon has a session of its own: closing the terminal cannot reach it.
	if sid, mine := pmSessionID(t, mp), pmSessionID(t, os.Getpid()); sid == mine || sid != mp {
		t.Errorf("master session %d, ours %d: want a new session led by the master", sid, mine)
	}
	p := pmParsePong(t, s.mustAsk("ping"))
	if p.version != "v1" {
		t.Errorf("ping %+v", p)
	}
	pmWaitFor(t, "worker output in StdoutFile", 10*time.Second, func() bool {
		o := s.read("stdout.log")
		return strings.Contains(o, "svc v1 started: id 0") && strings.Contains(o, "svc v1 started: id 1")
	})
	if r := s.status(); !r.Daemon || r.MasterPid != mp {
		t.Errorf("status: daemon %v master %d, want true %d", r.Daemon, r.MasterPid, mp)
	}
	// A second start says only that it runs already.
	out, code := s.run("start", "-d")
	if code != workerman.ExitFailure || !strings.Contains(out, "already running") || strings.Contains(out, "start in") {
		t.Errorf("second start: exit %d\n%s", code, out)
	}
	out, code = s.run("start")
	if code != workerman.ExitFailure || !strings.Contains(out, "already running") || strings.Contains(out, "start in") {
		t.Errorf("second start in the foreground: exit %d\n%s", code, out)
	}
	// A suspended master (Ctrl-Z) cannot answer: stop says so at once.
	syscall.Kill(mp, syscall.SIGSTOP)
	pmWaitFor(t, "the master to be suspended", 10*time.Second, func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", mp))
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		return len(f) > 0 && f[0] == "T"
	})
	out, code = s.run("stop")
	syscall.Kill(mp, syscall.SIGCONT)
	if code != workerman.ExitFailure || !strings.Contains(out, "suspended") {
		t.Errorf("stop of a suspended master: exit %d\n%s", code, out)
	}
	if os.Getuid() == 0 {
		// Another user may not control the master (the 停止失败 case of a
		// different user).
		cmd := exec.Command(s.bin, "stop")
		cmd.Env = s.env
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != workerman.ExitFailure || !strings.Contains(string(out), "permission denied") || !strings.Contains(string(out), "another user") {
			t.Errorf("stop by another user: exit %d\n%s", cmd.ProcessState.ExitCode(), out)
		}
		if !pmAlive(mp) {
			t.Fatal("another user stopped the master")
		}
	}
	s.must("stop")
	pmWaitFor(t, "master exit", 10*time.Second, func() bool { return !pmAlive(mp) })
}

// Two copies of a program in different directories, with the default pid
// file, run side by side (运行多个workerman).
func testTwoPrograms(t *testing.T, bins pmBins) {
	tmp := t.TempDir()
	a := newSvc(t, bins.v1, "SVC_PIDFILE=", "SVC_LOGFILE=", "TMPDIR="+tmp)
	b := newSvc(t, bins.v1, "SVC_PIDFILE=", "SVC_LOGFILE=", "TMPDIR="+tmp)
	a.startDaemon()
	b.startDaemon()
	ra, rb := a.status(), b.status()
	if ra.MasterPid == rb.MasterPid {
		t.Fatalf("both copies report master %d", ra.MasterPid)
	}
	pmParsePong(t, a.mustAsk("ping"))
	pmParsePong(t, b.mustAsk("ping"))
	pids, _ := filepath.Glob(filepath.Join(tmp, "workerman.svc.*.pid"))
	if len(pids) != 2 {
		t.Errorf("default pid files %v, want two in TMPDIR", pids)
	}
	a.must("stop")
	if _, err := b.ask("ping"); err != nil {
		t.Errorf("stopping one copy stopped the other: %v", err)
	}
	b.must("stop")
}

func testStalePidFile(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	// A process that has exited.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(s.pidFile(), []byte(strconv.Itoa(dead.Process.Pid)+"\n"), 0o644)
	out, code := s.run("status")
	if code != workerman.ExitNotRunning || !strings.Contains(out, "stale") || !strings.Contains(out, "is gone") {
		t.Errorf("status with a stale pid file: exit %d\n%s", code, out)
	}
	out, code = s.run("stop")
	if code != 0 || !strings.Contains(out, "not run") || !strings.Contains(out, "stale") {
		t.Errorf("stop with a stale pid file: exit %d\n%s", code, out)
	}
	// A pid file naming a live process that is not this program's master
	// (the number was reused): it must be left alone.
	os.WriteFile(s.pidFile(), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	out, code = s.run("stop")
	if code != 0 || !strings.Contains(out, "is not this program's master") {
		t.Errorf("stop with a pid file of another process: exit %d\n%s", code, out)
	}
	out, code = s.run("reload")
	if code != workerman.ExitNotRunning || !strings.Contains(out, "is not this program's master") {
		t.Errorf("reload with a pid file of another process: exit %d\n%s", code, out)
	}
	// start takes over a stale pid file.
	s.startDaemon()
	if pmMasterPid(t, s) == os.Getpid() {
		t.Error("pid file not rewritten")
	}
	s.must("stop")
}

func testMissingPidFile(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	mp := pmMasterPid(t, s)
	os.Remove(s.pidFile())
	out := s.must("status")
	if !strings.Contains(out, "pid file") || !strings.Contains(out, "GLOBAL STATUS") {
		t.Errorf("status without pid file:\n%s", out)
	}
	out = s.must("stop")
	if !strings.Contains(out, "stop success") {
		t.Errorf("stop without pid file:\n%s", out)
	}
	pmWaitFor(t, "master exit", 10*time.Second, func() bool { return !pmAlive(mp) })
}

func testStartFailures(t *testing.T, bins pmBins) {
	// Address already in use.
	s := newSvc(t, bins.v1)
	l, err := net.Listen("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"start"}, {"start", "-d"}} {
		out, code := s.run(args...)
		if code != workerman.ExitFailure || strings.Count(out, "address already in use") != 1 || !strings.Contains(out, "ss -lntp") || !strings.Contains(out, "start fail") {
			t.Errorf("%v on a busy port: exit %d\n%s", args, code, out)
		}
		// A foreground start returns the error from RunAll; start -d exits
		// from the launching process with the daemon's status.
		if returned := strings.Contains(out, "svc: RunAll returned an error (address in use: true)"); returned != (len(args) == 1) {
			t.Errorf("%v on a busy port: RunAll returned the error to main: %v\n%s", args, returned, out)
		}
	}
	l.Close()
	if _, err := os.Stat(s.pidFile()); err == nil {
		t.Error("a failed start left its pid file")
	}

	// An address that is not on this machine (TEST-NET-1; nothing is sent).
	s = newSvc(t, bins.v1, "SVC_ADDR=text://192.0.2.1:7777")
	out, code := s.run("start", "-d")
	if code != workerman.ExitFailure || !strings.Contains(out, "cannot assign requested address") {
		t.Errorf("start on a foreign address: exit %d\n%s", code, out)
	}

	// A worker whose OnWorkerStart fails.
	s = newSvc(t, bins.v1, "SVC_FAIL=1")
	for _, args := range [][]string{{"start"}, {"start", "-d"}} {
		out, code = s.run(args...)
		if code != workerman.ExitFailure || !strings.Contains(out, "exited while starting") {
			t.Errorf("%v with a failing OnWorkerStart: exit %d\n%s", args, code, out)
		}
		if returned := strings.Contains(out, "svc: RunAll returned an error (address in use: false)"); returned != (len(args) == 1) {
			t.Errorf("%v with a failing OnWorkerStart: RunAll returned the error to main: %v\n%s", args, returned, out)
		}
	}
	if _, err := s.ask("ping"); err == nil {
		t.Error("a failed start left the port open")
	}
	if _, err := os.Stat(s.pidFile()); err == nil {
		t.Error("a failed start left its pid file")
	}

	// Permission denied: a port below 1024 for an ordinary user.
	if os.Getuid() != 0 {
		t.Log("not root: cannot run the program as another user to see permission denied")
		return
	}
	b, _ := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || n <= 80 {
		t.Logf("unprivileged users may bind port 80 here (ip_unprivileged_port_start %q)", b)
		return
	}
	s = newSvc(t, bins.v1, "SVC_ADDR=text://127.0.0.1:80")
	cmd := exec.Command(s.bin, "start", "-d")
	cmd.Env = s.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	os.Chmod(s.dir, 0o777)
	b, err = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != workerman.ExitFailure || !strings.Contains(string(b), "permission denied") || !strings.Contains(string(b), "root") {
		t.Errorf("start on port 80 as nobody: %v\n%s", err, b)
	}
}

func testRestart(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	old := pmMasterPid(t, s)
	out := s.must("restart", "-d")
	for _, want := range []string{"is stopping", "stop success", "start in DAEMON mode", "Start success."} {
		if !strings.Contains(out, want) {
			t.Errorf("restart -d lacks %q:\n%s", want, out)
		}
	}
	if now := pmMasterPid(t, s); now == old || pmAlive(old) {
		t.Errorf("master %d after restart, old %d pmAlive %v", now, old, pmAlive(old))
	}
	pmParsePong(t, s.mustAsk("ping"))
	s.must("stop")
}

func testOwnFlags(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.must("-greeting", "bonjour", "start", "-d")
	if p := pmParsePong(t, s.mustAsk("ping")); p.greeting != "bonjour" {
		t.Errorf("worker processes did not get the program's flags: %+v", p)
	}
	s.must("-greeting", "bonjour", "stop")
}

// SingleProcess serves every worker in the launching process, for
// debuggers that cannot follow the processes a master starts.
func testSingleProcess(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1, "SVC_SINGLE=1", "SVC_COUNT=4")
	if out, code := s.run("start", "-d"); code != workerman.ExitUsage || !strings.Contains(out, "SingleProcess") {
		t.Errorf("start -d in SingleProcess mode: exit %d\n%s", code, out)
	}
	f := s.startForeground(false)
	if !strings.Contains(f.output(), "svc v1 started: id 0") {
		t.Errorf("output:\n%s", f.output())
	}
	for i := 0; i < 5; i++ {
		if p := pmParsePong(t, s.mustAsk("ping")); p.pid != f.cmd.Process.Pid || p.id != 0 {
			t.Fatalf("served by %+v, want the launching process %d", p, f.cmd.Process.Pid)
		}
	}
	f.cmd.Process.Signal(syscall.SIGINT)
	if code := f.wait(t); code != 0 {
		t.Errorf("exit %d after SIGINT\n%s", code, f.output())
	}
}

// pmCmdline returns a process's command line as ps shows it.
func pmCmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// pmComm returns a process's name as top, pgrep and killall see it.
func pmComm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// ps tells the master and the worker processes apart (ps aux | grep
// WorkerMan): the master shows its start file, each worker process its
// name, id and address; their name for killall stays the program's. The
// program's own flags still reach every process.
func testProcessTitles(t *testing.T, bins pmBins) {
	for _, daemon := range []bool{false, true} {
		t.Run(map[bool]string{false: "foreground", true: "daemon"}[daemon], func(t *testing.T) {
			keepPort := pmFreePort(t)
			s := newSvc(t, bins.v1, fmt.Sprintf("SVC_KEEP_ADDR=text://127.0.0.1:%d", keepPort))
			var mp int
			if daemon {
				s.must("-greeting", "hola", "start", "-d")
				mp = pmMasterPid(t, s)
			} else {
				f := s.startForegroundArgs(false, "-greeting", "hola", "start")
				mp = f.cmd.Process.Pid
			}
			if got, want := pmCmdline(mp), "WorkerMan: master process  start_file="+s.bin; got != want {
				t.Errorf("master command line %q, want %q", got, want)
			}
			r := s.status()
			if r.MasterPid != mp {
				t.Errorf("status names master %d, want %d", r.MasterPid, mp)
			}
			for _, p := range r.Processes {
				want := fmt.Sprintf("WorkerMan: worker process  %s id=%d %s", p.Worker, p.ID, p.Listen)
				if got := pmCmdline(p.Pid); got != want {
					t.Errorf("process %d: command line %q, want %q", p.Pid, got, want)
				}
				if comm := pmComm(p.Pid); comm != "svc" {
					t.Errorf("process %d: name %q, want svc", p.Pid, comm)
				}
			}
			if comm := pmComm(mp); comm != "svc" {
				t.Errorf("master: name %q, want svc", comm)
			}
			if p := pmParsePong(t, s.mustAsk("ping")); p.greeting != "hola" {
				t.Errorf("the worker processes lost the program's flags: %+v", p)
			}
			s.must("-greeting", "hola", "stop")
		})
	}
}
