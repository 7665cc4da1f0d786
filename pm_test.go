//go:build linux

package workerman_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
)

// The process-manager tests build testdata/apps/svc and drive it through
// its command line, as a user would: start in the foreground and as a
// daemon, stop, reload under pmLoad, kill processes, read status and
// connections. Every subtest runs its own copy with its own pid file and
// port.

// pmBins are the builds of the test program: v1 and v2 tell themselves
// apart in their replies, broken fails in OnWorkerStart, and extra (a v2)
// also listens on SVC_BUSY_ADDR in OnWorkerStart, only logging a failure.
type pmBins struct{ v1, v2, broken, extra string }

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
		extra:  build("svc-extra", "-X main.version=v2 -X main.extraInner=1"),
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
		{"ProcessTitles", testProcessTitles},
		{"MasterSignals", testMasterSignals},
		{"WorkerSignals", testWorkerSignals},
		{"ExitStatuses", testExitStatuses},
		{"PanicRecovered", testPanicRecovered},
		{"Metrics", testMetrics},
		{"OnWorkerStop", testOnWorkerStop},
		{"Foreground", testForeground},
		{"CtrlC", testCtrlC},
		{"Daemon", testDaemon},
		{"KillChild", testKillChild},
		{"StopAllInChild", testStopAllInChild},
		{"ReloadUnderLoad", testReloadUnderLoad},
		{"ReloadUnderLoadTLS", testReloadUnderLoadTLS},
		{"ReloadBrokenBinary", testReloadBroken},
		{"ReusePort", testReusePort},
		{"FairAccept", testFairAccept},
		{"ChildProcs", testChildProcs},
		{"StopGraceful", testStopGraceful},
		{"StopFast", testStopFast},
		{"StalePidFile", testStalePidFile},
		{"MissingPidFile", testMissingPidFile},
		{"StartFailures", testStartFailures},
		{"StatusAndConnections", testStatusAndConnections},
		{"StatusLive", testStatusLive},
		{"StatusInnerAndSchemes", testStatusInnerAndSchemes},
		{"Restart", testRestart},
		{"OwnFlags", testOwnFlags},
		{"User", testUser},
		{"TwoPrograms", testTwoPrograms},
		{"UDPAndUnix", testUDPAndUnix},
		{"InnerWorker", testInnerWorker},
		{"InnerWorkerReload", testInnerWorkerReload},
		{"WebSocketGoodbye", testWebSocketGoodbye},
		{"WebSocketClientReconnects", testWebSocketClientReconnects},
		{"HTTPKeepAliveReload", testHTTPKeepAliveReload},
		{"HTTPRetiring", testHTTPRetiring},
		{"HTTPReloadUnderWrk", testHTTPReloadUnderWrk},
		{"ReloadInnerListenFails", testReloadInnerListenFails},
		{"OutboundConnections", testOutboundConnections},
		{"MasterKilled", testMasterKilled},
		{"SingleProcess", testSingleProcess},
		{"ReloadFollowsSymlink", testReloadFollowsSymlink},
		{"StopTimeoutKills", testStopTimeoutKills},
		{"DaemonizeField", testDaemonizeField},
		{"InnerSamePort", testInnerSamePort},
		{"SocketOptions", testSocketOptions},
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

// pmFreePorts finds n consecutive free ports on 127.0.0.1 and returns the
// first.
func pmFreePorts(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 1000; try++ {
		p := pmFreePort(t)
		ok := p+n < 65535
		for k := 1; ok && k < n; k++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+k))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
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
	var out bytes.Buffer
	code := s.runTo(&out, &out, args...)
	return out.String(), code
}

// runSplit runs a command to completion and returns its standard output
// and error apart, and its exit code.
func (s *svc) runSplit(args ...string) (stdout, stderr string, code int) {
	s.t.Helper()
	var o, e bytes.Buffer
	code = s.runTo(&o, &e, args...)
	return o.String(), e.String(), code
}

func (s *svc) runTo(stdout, stderr *bytes.Buffer, args ...string) int {
	s.t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.env
	var mu sync.Mutex
	cmd.Stdout = &lockedWriter{&mu, stdout}
	cmd.Stderr = &lockedWriter{&mu, stderr}
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
		return code
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		<-done
		s.t.Fatalf("%v did not finish within 90s; output so far:\n%s%s", args, stdout.String(), stderr.String())
	}
	return -1
}

// lockedWriter lets a command's standard output and error share a buffer.
type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
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

// pmStat returns the fields of /proc/PID/stat after the command name.
func pmStat(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	return string(b[bytes.LastIndexByte(b, ')')+1:])
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
	return s.startForegroundArgs(setpgid, "start")
}

// startForegroundArgs runs the program with args (which start it in the
// foreground) and waits for the start table.
func (s *svc) startForegroundArgs(setpgid bool, args ...string) *pmFg {
	s.t.Helper()
	f := &pmFg{done: make(chan error, 1)}
	f.cmd = exec.Command(s.bin, args...)
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
