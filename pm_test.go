package workerman_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/testcert"
)

// The process-manager tests build testdata/apps/svc and drive it through
// its command line, as a user would: start in the foreground and as a
// daemon, stop, reload under pmLoad, kill processes, read status and
// connections. Every subtest runs its own copy with its own pid file and
// port.

type pmBins struct{ v1, v2, broken string }

func buildSvc(t *testing.T, dir string) pmBins {
	t.Helper()
	build := func(out string, ldflags string) string {
		path := filepath.Join(dir, out)
		args := []string{"build", "-o", path}
		if os.Getenv("WORKERMAN_PM_RACE") != "" {
			// Race-enabled programs start slowly; opt in to check the
			// master and worker processes themselves for races.
			args = append(args, "-race")
		}
		if ldflags != "" {
			args = append(args, "-ldflags", ldflags)
		}
		args = append(args, "./testdata/apps/svc")
		cmd := exec.Command("go", args...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, b)
		}
		return path
	}
	return pmBins{
		v1:     build("svc-v1", ""),
		v2:     build("svc-v2", "-X main.version=v2"),
		broken: build("svc-broken", "-X main.version=v3 -X main.broken=1"),
	}
}

func TestProcessManager(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs programs")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	bins := buildSvc(t, dir)

	// Each subtest runs its own copy of the program (own directory, pid
	// file and port), so they run side by side.
	for _, tc := range []struct {
		name string
		f    func(*testing.T, pmBins)
	}{
		{"Usage", testUsage},
		{"Foreground", testForeground},
		{"CtrlC", testCtrlC},
		{"Daemon", testDaemon},
		{"KillChild", testKillChild},
		{"StopAllInChild", testStopAllInChild},
		{"ReloadUnderLoad", testReloadUnderLoad},
		{"ReloadUnderLoadTLS", testReloadUnderLoadTLS},
		{"ReloadBrokenBinary", testReloadBroken},
		{"ReusePort", testReusePort},
		{"StopGraceful", testStopGraceful},
		{"StopFast", testStopFast},
		{"StalePidFile", testStalePidFile},
		{"MissingPidFile", testMissingPidFile},
		{"StartFailures", testStartFailures},
		{"StatusAndConnections", testStatusAndConnections},
		{"StatusLive", testStatusLive},
		{"Restart", testRestart},
		{"OwnFlags", testOwnFlags},
		{"User", testUser},
		{"TwoPrograms", testTwoPrograms},
		{"UDPAndUnix", testUDPAndUnix},
		{"InnerWorker", testInnerWorker},
		{"OutboundConnections", testOutboundConnections},
		{"MasterKilled", testMasterKilled},
		{"SingleProcess", testSingleProcess},
		{"ReloadFollowsSymlink", testReloadFollowsSymlink},
		{"StopTimeoutKills", testStopTimeoutKills},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.f(t, bins)
		})
	}
}

// svc is one copy of the test program.
type svc struct {
	t    *testing.T
	dir  string
	bin  string
	port int
	env  []string
}

func pmFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// newSvc copies bin into a directory of its own and configures it.
func newSvc(t *testing.T, bin string, env ...string) *svc {
	t.Helper()
	dir := t.TempDir()
	// Let other users reach the program (see testUser).
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	s := &svc{t: t, dir: dir, bin: filepath.Join(dir, "svc"), port: pmFreePort(t)}
	s.install(bin)
	s.env = append(os.Environ(),
		"SVC_PIDFILE="+filepath.Join(dir, "svc.pid"),
		"SVC_LOGFILE="+filepath.Join(dir, "svc.log"),
		"SVC_STDOUT="+filepath.Join(dir, "stdout.log"),
		fmt.Sprintf("SVC_ADDR=text://127.0.0.1:%d", s.port),
		"SVC_COUNT=2",
	)
	s.env = append(s.env, env...)
	t.Cleanup(s.cleanup)
	return s
}

// install puts a binary at s.bin the way a deployment does: a new file
// renamed over the old one.
func (s *svc) install(bin string) {
	// cp writes the copy: a file this process held open for writing could
	// leak into a process another test forks at that moment, and executing
	// it would then fail with "text file busy".
	tmp := s.bin + ".new"
	if out, err := exec.Command("cp", bin, tmp).CombinedOutput(); err != nil {
		s.t.Fatalf("cp: %v %s", err, out)
	}
	if err := os.Rename(tmp, s.bin); err != nil {
		s.t.Fatal(err)
	}
}

func (s *svc) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

func (s *svc) pidFile() string { return filepath.Join(s.dir, "svc.pid") }

func (s *svc) read(name string) string {
	b, _ := os.ReadFile(filepath.Join(s.dir, name))
	return string(b)
}

// run runs a command to completion and returns its output and exit code.
func (s *svc) run(args ...string) (string, int) {
	s.t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			s.t.Fatalf("%v: %v", args, err)
		}
		return out.String(), code
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		s.t.Fatalf("%v did not finish within 90s; output so far:\n%s", args, out.String())
	}
	return "", -1
}

// must runs a command that has to succeed.
func (s *svc) must(args ...string) string {
	s.t.Helper()
	out, code := s.run(args...)
	if code != 0 {
		s.t.Fatalf("%v: exit %d\n%s\nlog:\n%s", args, code, out, s.read("svc.log"))
	}
	return out
}

// startDaemon runs start -d and checks its table.
func (s *svc) startDaemon() string {
	s.t.Helper()
	out := s.must("start", "-d")
	for _, want := range []string{"start in DAEMON mode", "WORKERMAN", "svc", "[OK]", "Start success."} {
		if !strings.Contains(out, want) {
			s.t.Fatalf("start -d output lacks %q:\n%s", want, out)
		}
	}
	return out
}

// cleanup stops whatever the test left running.
func (s *svc) cleanup() {
	cmd := exec.Command(s.bin, "stop")
	cmd.Env = s.env
	cmd.Run()
	if b, err := os.ReadFile(s.pidFile()); err == nil {
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 && pid != os.Getpid() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// ask sends one line on a new connection and reads one line back.
func (s *svc) ask(line string) (string, error) {
	c, err := net.DialTimeout("tcp", s.addr(), 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	reply, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(reply), err
}

func (s *svc) mustAsk(line string) string {
	s.t.Helper()
	r, err := s.ask(line)
	if err != nil {
		s.t.Fatalf("ask %q: %v", line, err)
	}
	return r
}

// pmPong is a parsed ping reply.
type pmPong struct {
	greeting, version string
	pid, id           int
}

func pmParsePong(t *testing.T, r string) pmPong {
	t.Helper()
	f := strings.Fields(r)
	if len(f) != 5 || f[0] != "pong" {
		t.Fatalf("bad ping reply %q", r)
	}
	pid, _ := strconv.Atoi(f[3])
	id, _ := strconv.Atoi(f[4])
	return pmPong{f[1], f[2], pid, id}
}

// status returns status --json.
func (s *svc) status() workerman.StatusReport {
	s.t.Helper()
	out := s.must("status", "--json")
	var r workerman.StatusReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		s.t.Fatalf("status --json: %v\n%s", err, out)
	}
	return r
}

// pmWorkerProcs returns the live processes of worker svc by ID.
func pmWorkerProcs(r workerman.StatusReport, worker string) map[int]int {
	m := make(map[int]int)
	for _, p := range r.Processes {
		if p.Worker == worker && !p.Retiring {
			m[p.ID] = p.Pid
		}
	}
	return m
}

func pmAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie has exited already.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

func pmWaitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pmMasterPid(t *testing.T, s *svc) int {
	t.Helper()
	b, err := os.ReadFile(s.pidFile())
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file %q: %v", b, err)
	}
	return pid
}

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
	if out, code := s.run("stop"); code != 0 || !strings.Contains(out, "not run") {
		t.Errorf("stop with nothing running: exit %d\n%s", code, out)
	}
}

// pmFg is a program started in the foreground.
type pmFg struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func (f *pmFg) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out.Write(p)
}

func (f *pmFg) output() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out.String()
}

// startForeground runs start and waits for the start table.
func (s *svc) startForeground(setpgid bool) *pmFg {
	s.t.Helper()
	f := &pmFg{done: make(chan error, 1)}
	f.cmd = exec.Command(s.bin, "start")
	f.cmd.Env = s.env
	f.cmd.Stdout = f
	f.cmd.Stderr = f
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: setpgid}
	if err := f.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() { f.done <- f.cmd.Wait() }()
	s.t.Cleanup(func() {
		select {
		case <-f.done:
		default:
			f.cmd.Process.Kill()
		}
	})
	deadline := time.After(60 * time.Second)
	for !strings.Contains(f.output(), "Start success.") {
		select {
		case err := <-f.done:
			s.t.Fatalf("start exited early: %v\n%s", err, f.output())
		case <-deadline:
			s.t.Fatalf("start did not succeed within 60s:\n%s", f.output())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return f
}

func (f *pmFg) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-f.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("the foreground master did not exit:\n%s", f.output())
	}
	return -1
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

func pmSessionID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	sid, _ := strconv.Atoi(f[3])
	return sid
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
	out, code := s.run("start", "-d")
	if code != workerman.ExitFailure || !strings.Contains(out, "already running") {
		t.Errorf("second start: exit %d\n%s", code, out)
	}
	out, code = s.run("start")
	if code != workerman.ExitFailure || !strings.Contains(out, "already running") {
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

func testKillChild(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	before := pmWorkerProcs(s.status(), "svc")
	victim := before[1]
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	pmWaitFor(t, "WORKER EXIT UNEXPECTED in the log", 10*time.Second, func() bool {
		return strings.Contains(s.read("svc.log"), "WORKER EXIT UNEXPECTED")
	})
	log := s.read("svc.log")
	if !strings.Contains(log, "status=9") || !strings.Contains(log, fmt.Sprintf("worker_pid=%d", victim)) {
		t.Errorf("log:\n%s", log)
	}
	var after map[int]int
	pmWaitFor(t, "a replacement with id 1", 20*time.Second, func() bool {
		after = pmWorkerProcs(s.status(), "svc")
		return after[1] != 0 && after[1] != victim
	})
	if after[0] != before[0] {
		t.Errorf("id 0 changed from %d to %d", before[0], after[0])
	}
	r := s.status()
	var exits []workerman.ExitCount
	for _, w := range r.Workers {
		if w.Name == "svc" {
			exits = w.Exits
		}
	}
	if len(exits) != 1 || exits[0].Status != 9 || exits[0].Signal != 9 || exits[0].Count != 1 {
		t.Errorf("exit table %+v, want one exit with status 9", exits)
	}
	text := s.must("status")
	if !strings.Contains(text, "svc          9                1") {
		t.Errorf("status does not show the exit:\n%s", text)
	}
	// The replacement serves.
	seen := map[int]bool{}
	for i := 0; i < 50 && len(seen) < 2; i++ {
		seen[pmParsePong(t, s.mustAsk("ping")).pid] = true
	}
	if seen[victim] {
		t.Error("the killed process answered")
	}
}

func testStopAllInChild(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1, "SVC_COUNT=1")
	s.startDaemon()
	before := pmWorkerProcs(s.status(), "svc")[0]
	c, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("stopall\n"))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 10)); err == nil {
		t.Error("the connection stayed open after StopAll")
	}
	c.Close()
	pmWaitFor(t, "a fresh process", 20*time.Second, func() bool {
		r, err := s.ask("ping")
		return err == nil && pmParsePong(t, r).pid != before
	})
	if p := pmParsePong(t, s.mustAsk("ping")); p.id != 0 {
		t.Errorf("new process has id %d", p.id)
	}
	if log := s.read("svc.log"); !strings.Contains(log, "WORKER EXIT UNEXPECTED") || !strings.Contains(log, "status=0") {
		t.Errorf("log:\n%s", log)
	}
}

// pmLoad opens short connections (connect, ping, read the reply, close)
// from a few goroutines until stopped, and counts what went wrong.
type pmLoad struct {
	addr     string
	tls      *tls.Config
	stop     chan struct{}
	wg       sync.WaitGroup
	ok, fail atomic.Int64
	mu       sync.Mutex
	errs     []string
	versions map[string]int
}

func pmStartLoad(addr string, workers int, tc *tls.Config) *pmLoad {
	l := &pmLoad{addr: addr, tls: tc, stop: make(chan struct{}), versions: map[string]int{}}
	for i := 0; i < workers; i++ {
		l.wg.Add(1)
		go l.run()
	}
	return l
}

func (l *pmLoad) run() {
	defer l.wg.Done()
	deadline := time.Now().Add(60 * time.Second)
	for n := 0; n < 200000 && time.Now().Before(deadline); n++ {
		select {
		case <-l.stop:
			return
		default:
		}
		reply, err := l.once()
		l.mu.Lock()
		if err != nil {
			l.fail.Add(1)
			if len(l.errs) < 10 {
				l.errs = append(l.errs, err.Error())
			}
		} else {
			l.ok.Add(1)
			l.versions[strings.Fields(reply)[2]]++
		}
		l.mu.Unlock()
		time.Sleep(300 * time.Microsecond)
	}
}

func (l *pmLoad) once() (string, error) {
	var c net.Conn
	var err error
	if l.tls != nil {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", l.addr, l.tls)
	} else {
		c, err = net.DialTimeout("tcp", l.addr, 5*time.Second)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return "", err
	}
	r, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read: %w (got %q)", err, r)
	}
	if f := strings.Fields(r); len(f) != 5 || f[0] != "pong" {
		return "", fmt.Errorf("bad reply %q", r)
	}
	return r, nil
}

func (l *pmLoad) finish() {
	close(l.stop)
	l.wg.Wait()
}

func testReloadUnderLoad(t *testing.T, bins pmBins) {
	keepPort := pmFreePort(t)
	s := newSvc(t, bins.v1, fmt.Sprintf("SVC_KEEP_ADDR=text://127.0.0.1:%d", keepPort))
	s.startDaemon()
	askKeeper := func() (pid, reloads int) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", keepPort), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("hi\n"))
		r, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Sscanf(r, "keeper %d reloads %d", &pid, &reloads); err != nil {
			t.Fatalf("keeper reply %q: %v", r, err)
		}
		return
	}
	keeperPid, _ := askKeeper()
	before := pmWorkerProcs(s.status(), "svc")

	l := pmStartLoad(s.addr(), 2, nil)
	time.Sleep(300 * time.Millisecond)
	s.install(bins.v2)
	out := s.must("reload")
	if !strings.Contains(out, "reload success") {
		t.Errorf("reload output:\n%s", out)
	}
	time.Sleep(300 * time.Millisecond)
	out = s.must("reload", "-g")
	if !strings.Contains(out, "reload success") {
		t.Errorf("reload -g output:\n%s", out)
	}
	time.Sleep(300 * time.Millisecond)
	l.finish()

	t.Logf("load: %d requests ok, %d failed, by version %v", l.ok.Load(), l.fail.Load(), l.versions)
	if l.fail.Load() != 0 {
		t.Errorf("%d requests failed during reload: %v", l.fail.Load(), l.errs)
	}
	if l.versions["v1"] == 0 || l.versions["v2"] == 0 {
		t.Errorf("want requests served by both builds, got %v", l.versions)
	}
	after := pmWorkerProcs(s.status(), "svc")
	if len(after) != 2 {
		t.Fatalf("after reload: %v", after)
	}
	for id, pid := range after {
		if pid == before[id] {
			t.Errorf("id %d still served by the old process %d", id, pid)
		}
	}
	for i := 0; i < 20; i++ {
		if p := pmParsePong(t, s.mustAsk("ping")); p.version != "v2" {
			t.Fatalf("after reload a process still runs %s", p.version)
		}
	}
	for _, pid := range before {
		pmWaitFor(t, "old processes to exit", 10*time.Second, func() bool { return !pmAlive(pid) })
	}
	// The Reloadable=false worker kept its process and ran OnWorkerReload
	// once per reload.
	pid, reloads := askKeeper()
	if pid != keeperPid || reloads != 2 {
		t.Errorf("keeper: pid %d reloads %d, want %d and 2", pid, reloads, keeperPid)
	}
	r := s.status()
	for _, w := range r.Workers {
		if w.Name == "svc" {
			if len(w.Exits) != 1 || w.Exits[0].Status != 0 || w.Exits[0].Count != 4 {
				t.Errorf("svc exits %+v, want 4 normal exits", w.Exits)
			}
		}
	}
}

func testReloadBroken(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	before := pmWorkerProcs(s.status(), "svc")
	s.install(bins.broken)
	out, code := s.run("reload")
	if code != workerman.ExitFailure || !strings.Contains(out, "reload fail") || !strings.Contains(out, "failed to start") {
		t.Errorf("reload of a broken binary: exit %d\n%s", code, out)
	}
	// The running processes keep serving the old build.
	after := pmWorkerProcs(s.status(), "svc")
	if after[0] != before[0] || after[1] != before[1] {
		t.Errorf("processes changed from %v to %v", before, after)
	}
	if p := pmParsePong(t, s.mustAsk("ping")); p.version != "v1" {
		t.Errorf("ping %+v", p)
	}
	s.install(bins.v2)
	s.must("reload")
	if p := pmParsePong(t, s.mustAsk("ping")); p.version != "v2" {
		t.Errorf("after fixing the binary: %+v", p)
	}
}

func testReusePort(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1, "SVC_REUSEPORT=1")
	s.startDaemon()
	before := pmWorkerProcs(s.status(), "svc")
	if len(before) != 2 {
		t.Fatalf("processes %v", before)
	}
	seen := map[int]bool{}
	for i := 0; i < 200 && len(seen) < 2; i++ {
		seen[pmParsePong(t, s.mustAsk("ping")).pid] = true
	}
	if len(seen) != 2 {
		t.Errorf("connections reached %d processes, want 2 (each has its own socket)", len(seen))
	}
	s.install(bins.v2)
	s.must("reload")
	if p := pmParsePong(t, s.mustAsk("ping")); p.version != "v2" {
		t.Errorf("after reload: %+v", p)
	}
	s.must("stop")
}

func testStopGraceful(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	mp := pmMasterPid(t, s)
	c, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	c.Write([]byte("sleep 1500\n"))
	time.Sleep(100 * time.Millisecond) // the request is in flight
	type result struct {
		out  string
		code int
	}
	stopped := make(chan result, 1)
	go func() {
		out, code := s.run("stop", "-g")
		stopped <- result{out, code}
	}()
	// New connections are refused while the old ones finish.
	pmWaitFor(t, "the port to close", 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", s.addr(), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(reply, "slept ") || !strings.Contains(reply, "stopping=true") {
		t.Fatalf("in-flight request: %q %v", reply, err)
	}
	select {
	case <-stopped:
		t.Fatal("stop -g finished while a connection was still open")
	default:
	}
	c.Close()
	r := <-stopped
	if r.code != 0 || !strings.Contains(r.out, "is gracefully stopping") || !strings.Contains(r.out, "stop success") {
		t.Errorf("stop -g: exit %d\n%s", r.code, r.out)
	}
	if pmAlive(mp) {
		t.Error("master still alive")
	}
}

func testStopFast(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	c, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	c.Write([]byte("sleep 10000\n"))
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	out := s.must("stop")
	if !strings.Contains(out, "stop success") {
		t.Errorf("stop: %s", out)
	}
	// stop closes connections at once, unlike stop -g.
	if reply, err := bufio.NewReader(c).ReadString('\n'); err == nil {
		t.Errorf("got %q after stop; want the connection closed", reply)
	}
	t.Logf("stop with a pending request took %v", time.Since(start))
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
		if code != workerman.ExitFailure || !strings.Contains(out, "address already in use") || !strings.Contains(out, "start fail") {
			t.Errorf("%v on a busy port: exit %d\n%s", args, code, out)
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

func testStatusAndConnections(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	locals := map[string]bool{}
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", s.addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		c.Write([]byte("ping\n"))
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		locals[c.LocalAddr().String()] = true
	}
	r := s.status()
	if r.Version != workerman.Version || !strings.HasPrefix(r.GoVersion, "go") || r.EventLoop != "epoll" || len(r.Workers) != 1 || len(r.Processes) != 2 {
		t.Errorf("report %+v", r)
	}
	var total, reqs int64
	for _, p := range r.Processes {
		if p.Status != "idle" || p.MemoryBytes <= 0 || p.Listen != "text://"+s.addr() || p.Worker != "svc" {
			t.Errorf("process %+v", p)
		}
		total += p.Connections
		reqs += p.TotalRequest
	}
	if total != 3 || reqs != 3 {
		t.Errorf("connections %d requests %d, want 3 and 3", total, reqs)
	}
	text := s.must("status")
	for _, want := range []string{"GLOBAL STATUS", "PROCESS STATUS", "Workerman version:" + workerman.Version, "1 workers       2 processes",
		"load average:", "total_request", "[idle]", "Summary", strconv.Itoa(r.Processes[0].Pid)} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}

	var list []workerman.ConnectionInfo
	if err := json.Unmarshal([]byte(s.must("connections", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("connections --json: %+v", list)
	}
	pids := map[int]bool{}
	for _, p := range r.Processes {
		pids[p.Pid] = true
	}
	for _, c := range list {
		if !locals[c.Remote] || c.Local != s.addr() || c.Worker != "svc" || c.Protocol != "text" || c.Transport != "tcp" ||
			c.State != "ESTABLISHED" || c.BytesRead != 5 || c.BytesWritten == 0 || !c.IPv4 || !pids[c.Pid] {
			t.Errorf("connection %+v", c)
		}
	}
	text = s.must("connections")
	if !strings.Contains(text, "WORKERMAN CONNECTION STATUS") {
		t.Errorf("connections:\n%s", text)
	}
	for l := range locals {
		if !strings.Contains(text, l) {
			t.Errorf("connections does not list %s:\n%s", l, text)
		}
	}

	// A process whose loop is blocked shows as busy.
	b, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.Write([]byte("block 6000\n"))
	time.Sleep(200 * time.Millisecond)
	r = s.status()
	busy := 0
	for _, p := range r.Processes {
		if p.Status == "busy" {
			busy++
			if p.Connections != -1 || p.MemoryBytes <= 0 {
				t.Errorf("busy process %+v", p)
			}
		}
	}
	if busy != 1 {
		t.Errorf("%d busy processes, want 1: %+v", busy, r.Processes)
	}
}

func testStatusLive(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	f := &pmFg{done: make(chan error, 1)}
	f.cmd = exec.Command(s.bin, "status", "-d")
	f.cmd.Env = s.env
	f.cmd.Stdout = f
	f.cmd.Stderr = f
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { f.done <- f.cmd.Wait() }()
	pmWaitFor(t, "two refreshes", 30*time.Second, func() bool {
		return strings.Count(f.output(), "GLOBAL STATUS") >= 2
	})
	if !strings.Contains(f.output(), "\x1b[H\x1b[2J") || !strings.Contains(f.output(), "Press Ctrl+C to quit.") {
		t.Errorf("status -d output:\n%q", f.output())
	}
	f.cmd.Process.Signal(syscall.SIGINT)
	if code := f.wait(t); code != 0 {
		t.Errorf("status -d exit %d", code)
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

func testUser(t *testing.T, bins pmBins) {
	if os.Getuid() != 0 {
		t.Skip("needs root to start processes as another user")
	}
	s := newSvc(t, bins.v1, "SVC_USER=nobody")
	out := s.startDaemon()
	if !strings.Contains(out, "nobody") {
		t.Errorf("start table does not show the user:\n%s", out)
	}
	if r := s.mustAsk("whoami"); r != "uid 65534" {
		t.Errorf("whoami: %q", r)
	}
	s.must("stop")
}

func testUDPAndUnix(t *testing.T, bins pmBins) {
	udpPort := pmFreePort(t)
	sock := filepath.Join(t.TempDir(), "svc.sock")
	s := newSvc(t, bins.v1, fmt.Sprintf("SVC_UDP_ADDR=udp://127.0.0.1:%d", udpPort), "SVC_UNIX_PATH="+sock)
	s.startDaemon()
	udp := func() string {
		c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", udpPort))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		buf := make([]byte, 200)
		for try := 0; try < 20; try++ {
			c.Write([]byte("hi"))
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			if n, err := c.Read(buf); err == nil {
				return string(buf[:n])
			}
		}
		t.Fatal("no UDP reply")
		return ""
	}
	unixAsk := func() string {
		c, err := net.DialTimeout("unix", sock, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("hi\n"))
		r, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(r)
	}
	if r := udp(); !strings.HasPrefix(r, "udp v1 ") || !strings.HasSuffix(r, " hi") {
		t.Errorf("udp: %q", r)
	}
	if r := unixAsk(); !strings.HasPrefix(r, "unix v1 ") {
		t.Errorf("unix: %q", r)
	}
	s.install(bins.v2)
	s.must("reload")
	if r := udp(); !strings.HasPrefix(r, "udp v2 ") {
		t.Errorf("udp after reload: %q", r)
	}
	if r := unixAsk(); !strings.HasPrefix(r, "unix v2 ") {
		t.Errorf("unix after reload: %q", r)
	}
	r := s.status()
	if len(r.Workers) != 3 || len(r.Processes) != 5 {
		t.Errorf("workers %d processes %d, want 3 and 5", len(r.Workers), len(r.Processes))
	}
	s.must("stop")
	if _, err := os.Stat(sock); err == nil {
		t.Error("the Unix socket file is left after stop")
	}
}

// A worker created in OnWorkerStart lives in each process (the master
// never starts processes for it); its connections are listed and a
// graceful stop waits for them too.
func testInnerWorker(t *testing.T, bins pmBins) {
	innerPort := pmFreePort(t)
	s := newSvc(t, bins.v1, fmt.Sprintf("SVC_INNER_ADDR=text://127.0.0.1:%d", innerPort), "SVC_GRACE_MS=20000")
	s.startDaemon()
	r := s.status()
	if len(r.Workers) != 1 || len(r.Processes) != 2 {
		t.Fatalf("the inner worker must not get processes of its own: %+v", r)
	}
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", innerPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	c.Write([]byte("hi\n"))
	br := bufio.NewReader(c)
	if reply, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(reply, "inner ") {
		t.Fatalf("inner worker: %q %v", reply, err)
	}
	var list []workerman.ConnectionInfo
	if err := json.Unmarshal([]byte(s.must("connections", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Worker != "inner" || list[0].Remote != c.LocalAddr().String() {
		t.Errorf("connections: %+v", list)
	}
	done := make(chan int, 1)
	go func() {
		_, code := s.run("stop", "-g")
		done <- code
	}()
	// The inner connection still works while the stop waits for it.
	time.Sleep(300 * time.Millisecond)
	c.Write([]byte("again\n"))
	if reply, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(reply, "inner ") {
		t.Errorf("inner worker during stop -g: %q %v", reply, err)
	}
	c.Close()
	if code := <-done; code != 0 {
		t.Errorf("stop -g: exit %d", code)
	}
}

// A process that does not stop within StopTimeout is killed.
func testStopTimeoutKills(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1, "SVC_STOP_MS=300", "SVC_COUNT=1")
	s.startDaemon()
	pid := pmWorkerProcs(s.status(), "svc")[0]
	c, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("block 30000\n"))
	time.Sleep(200 * time.Millisecond)
	out := s.must("stop")
	if !strings.Contains(out, "stop success") {
		t.Errorf("stop: %s", out)
	}
	if pmAlive(pid) {
		t.Error("the blocked process survived the stop")
	}
	if log := s.read("svc.log"); !strings.Contains(log, "did not stop in time") {
		t.Errorf("log:\n%s", log)
	}
}

// A deployment that switches a symbolic link to a new release is picked
// up by reload: new processes start from the path the program was started
// by, not from the file it resolved to.
func testReloadFollowsSymlink(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	for _, v := range []string{"v1", "v2"} {
		os.MkdirAll(filepath.Join(s.dir, "releases", v), 0o755)
	}
	s.bin = filepath.Join(s.dir, "releases", "v1", "svc")
	s.install(bins.v1)
	s.bin = filepath.Join(s.dir, "releases", "v2", "svc")
	s.install(bins.v2)
	current := filepath.Join(s.dir, "current")
	if err := os.Symlink(filepath.Join(s.dir, "releases", "v1"), current); err != nil {
		t.Fatal(err)
	}
	s.bin = filepath.Join(current, "svc")
	s.startDaemon()
	if p := pmParsePong(t, s.mustAsk("ping")); p.version != "v1" {
		t.Fatalf("ping %+v", p)
	}
	// Switch the link atomically, as deployment tools do.
	tmp := current + ".new"
	os.Symlink(filepath.Join(s.dir, "releases", "v2"), tmp)
	if err := os.Rename(tmp, current); err != nil {
		t.Fatal(err)
	}
	s.must("reload")
	for i := 0; i < 10; i++ {
		if p := pmParsePong(t, s.mustAsk("ping")); p.version != "v2" {
			t.Fatalf("after switching the link and reloading: %+v", p)
		}
	}
	s.must("stop")
}

// When the master dies (kill -9), its processes notice and stop, and the
// pid file it leaves is recognised as stale.
func testMasterKilled(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	procs := pmWorkerProcs(s.status(), "svc")
	mp := pmMasterPid(t, s)
	if err := syscall.Kill(mp, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, pid := range procs {
		pmWaitFor(t, "worker processes to stop after the master died", 20*time.Second, func() bool { return !pmAlive(pid) })
	}
	pmWaitFor(t, "the master to be gone", 10*time.Second, func() bool { return !pmAlive(mp) })
	out, code := s.run("status")
	if code != workerman.ExitNotRunning || !strings.Contains(out, "stale") {
		t.Errorf("status after the master was killed: exit %d\n%s", code, out)
	}
	s.startDaemon()
	pmParsePong(t, s.mustAsk("ping"))
	s.must("stop")
}

// The TLS transport loses nothing on reload either: a process that stops
// accepting finishes the handshakes it has begun.
func testReloadUnderLoadTLS(t *testing.T, bins pmBins) {
	ca, err := testcert.NewCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.Server("svc", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	s := newSvc(t, bins.v1, "SVC_CERT="+pair.CertFile, "SVC_KEY="+pair.KeyFile)
	s.startDaemon()
	l := pmStartLoad(s.addr(), 2, &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"})
	time.Sleep(300 * time.Millisecond)
	s.install(bins.v2)
	s.must("reload")
	time.Sleep(200 * time.Millisecond)
	s.must("reload", "-g")
	time.Sleep(200 * time.Millisecond)
	l.finish()
	t.Logf("load over TLS: %d requests ok, %d failed, by version %v", l.ok.Load(), l.fail.Load(), l.versions)
	if l.fail.Load() != 0 {
		t.Errorf("%d requests failed during reload: %v", l.fail.Load(), l.errs)
	}
	if l.versions["v2"] == 0 {
		t.Errorf("no request reached the new build: %v", l.versions)
	}
	var list []workerman.ConnectionInfo
	c, err := tls.Dial("tcp", s.addr(), &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ping\n"))
	bufio.NewReader(c).ReadString('\n')
	if err := json.Unmarshal([]byte(s.must("connections", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Transport != "ssl" || list[0].Protocol != "text" {
		t.Errorf("connections over TLS: %+v", list)
	}
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

// Outbound connections a worker process makes (NewAsyncTcpConnection in
// OnWorkerStart) are listed by connections too.
func testOutboundConnections(t *testing.T, bins pmBins) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	greetings := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				greetings <- line
				io.Copy(io.Discard, c)
			}()
		}
	}()
	s := newSvc(t, bins.v1, "SVC_OUTBOUND_ADDR="+ln.Addr().String())
	s.startDaemon()
	for i := 0; i < 2; i++ {
		select {
		case g := <-greetings:
			if !strings.HasPrefix(g, "hello from ") {
				t.Fatalf("greeting %q", g)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the worker processes did not connect out")
		}
	}
	var list []workerman.ConnectionInfo
	if err := json.Unmarshal([]byte(s.must("connections", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ci := range list {
		if ci.Worker == workerman.OutboundWorkerName && ci.Remote == ln.Addr().String() && ci.State == "ESTABLISHED" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("want the 2 outbound connections listed, got %+v", list)
	}
	if text := s.must("connections"); !strings.Contains(text, workerman.OutboundWorkerName) {
		t.Errorf("connections:\n%s", text)
	}
	s.must("stop")
}
