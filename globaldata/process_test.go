package globaldata_test

import (
	"bufio"
	"bytes"
	"encoding/json"
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
)

// The process tests build testdata/gdapp and run it as a user would: under
// the master (start -d, stop), and as plain programs.

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// gdapp returns the path of the built test program.
func gdapp(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs programs")
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "gdapp"); buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "gdapp")
		out, err := exec.Command("go", "build", "-o", buildBin, "./testdata/gdapp").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	noErr(t, err)
	defer l.Close()
	return l.Addr().String()
}

// app is one running copy of gdapp under its master.
type app struct {
	t    *testing.T
	bin  string
	dir  string
	addr string // the GlobalData server
	env  []string
}

// startApp runs gdapp start -d with its own pid file, port and directory,
// and stops it when the test ends.
func startApp(t *testing.T, env ...string) *app {
	t.Helper()
	a := &app{t: t, bin: gdapp(t), dir: t.TempDir(), addr: freePort(t)}
	a.env = append(os.Environ(),
		"GD_PIDFILE="+filepath.Join(a.dir, "gdapp.pid"),
		"GD_LOGFILE="+filepath.Join(a.dir, "gdapp.log"),
		"GD_STDOUT="+filepath.Join(a.dir, "stdout.log"),
		"GD_DIR="+a.dir,
		"GD_ADDR="+a.addr,
	)
	a.env = append(a.env, env...)
	t.Cleanup(a.stop)
	out, err := a.run("start", "-d")
	if err != nil || !strings.Contains(out, "Start success.") {
		t.Fatalf("start -d: %v\n%s\nlog:\n%s", err, out, a.read("gdapp.log"))
	}
	return a
}

// run runs a command of the program, bounded in time.
func (a *app) run(args ...string) (string, error) {
	cmd := exec.Command(a.bin, args...)
	cmd.Env = a.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	noErr(a.t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		return out.String(), fmt.Errorf("%v did not finish within 60s", args)
	}
}

func (a *app) read(name string) string {
	b, _ := os.ReadFile(filepath.Join(a.dir, name))
	return string(b)
}

func (a *app) stop() {
	if out, err := a.run("stop"); err != nil {
		a.t.Errorf("stop: %v\n%s", err, out)
	}
	if a.t.Failed() {
		a.t.Logf("log:\n%s\nstdout:\n%s", a.read("gdapp.log"), a.read("stdout.log"))
	}
}

// result is what one counting process reports (see testdata/gdapp).
type result struct {
	Pid         int      `json:"pid"`
	Incremented int      `json:"incremented"`
	Swapped     int      `json:"swapped"`
	CasRetries  int      `json:"cas_retries"`
	Errors      []string `json:"errors"`
}

// checkCounts checks the counting of several processes: every increment
// and every swap of each is in the totals, nothing more.
func checkCounts(t *testing.T, addr string, results []result, rounds int) {
	t.Helper()
	for _, r := range results {
		if len(r.Errors) > 0 || r.Incremented != rounds || r.Swapped != rounds {
			t.Errorf("process %d: %d increments, %d swaps, errors %q", r.Pid, r.Incremented, r.Swapped, r.Errors)
		}
		t.Logf("process %d: %d cas retries", r.Pid, r.CasRetries)
	}
	g := dial(t, []string{addr}, nil)
	x := ctx(t)
	v, err := g.GetContext(x, "hits")
	noErr(t, err)
	check(t, "hits", v, len(results)*rounds)
	v, err = g.GetContext(x, "cas")
	noErr(t, err)
	var state struct {
		N  int
		By map[string]int
	}
	noErr(t, v.Decode(&state))
	check(t, "count kept with cas", state.N, len(results)*rounds)
	for _, r := range results {
		if n := state.By[strconv.Itoa(r.Pid)]; n != rounds {
			t.Errorf("process %d: %d swaps counted, want %d", r.Pid, n, rounds)
		}
	}
	if len(state.By) != len(results) {
		t.Errorf("counted for %d processes, want %d: %v", len(state.By), len(results), state.By)
	}
}

// TestAtomicUnderMaster: four worker processes under the master increment
// one key 1,000 times each, and count 1,000 times each in another with a
// Cas loop, all at the same time, with the callback style in
// OnWorkerStart. Nothing is lost, nothing counted twice.
func TestAtomicUnderMaster(t *testing.T) {
	const procs, rounds = 4, 1000
	a := startApp(t, fmt.Sprint("GD_COUNTERS=", procs), fmt.Sprint("GD_ROUNDS=", rounds))
	var results []result
	deadline := time.Now().Add(90 * time.Second)
	for id := 0; id < procs; id++ {
		name := fmt.Sprintf("counter-%d.json", id)
		for a.read(name) == "" {
			if time.Now().After(deadline) {
				t.Fatalf("%s not written within 90s", name)
			}
			time.Sleep(50 * time.Millisecond)
		}
		var r result
		noErr(t, json.Unmarshal([]byte(a.read(name)), &r))
		results = append(results, r)
	}
	checkCounts(t, a.addr, results, rounds)
}

// TestAtomicPlainPrograms: the same counting by four plain programs at the
// same time, with Dial and the blocking calls, against a server in this
// test process.
func TestAtomicPlainPrograms(t *testing.T) { testAtomicPlainPrograms(t, serve(t), 1000) }

// testAtomicPlainPrograms runs the counting programs against the backend
// at addr.
func testAtomicPlainPrograms(t *testing.T, addr string, rounds int) {
	const procs = 4
	bin := gdapp(t)
	var wg sync.WaitGroup
	results := make([]result, procs)
	errs := make([]error, procs)
	for i := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "dial", addr, strconv.Itoa(rounds))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			timer := time.AfterFunc(90*time.Second, func() { cmd.Process.Kill() })
			defer timer.Stop()
			out, err := cmd.Output()
			if err != nil {
				errs[i] = fmt.Errorf("%v: %s", err, stderr.Bytes())
				return
			}
			errs[i] = json.Unmarshal(out, &results[i])
		}()
	}
	wg.Wait()
	for _, err := range errs {
		noErr(t, err)
	}
	checkCounts(t, addr, results, rounds)
}

// ctlConn is a connection to gdapp's ctl worker.
type ctlConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func (a *app) ctl(addr string) *ctlConn {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	noErr(a.t, err)
	a.t.Cleanup(func() { c.Close() })
	return &ctlConn{a.t, c, bufio.NewReader(c)}
}

// ask sends a command and returns the answer, which must come within
// limit.
func (c *ctlConn) ask(line string, limit time.Duration) string {
	c.t.Helper()
	c.c.SetDeadline(time.Now().Add(limit))
	_, err := c.c.Write([]byte(line + "\n"))
	noErr(c.t, err)
	s, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("%q: no answer within %v: %v", line, limit, err)
	}
	return strings.TrimSpace(s)
}

func (a *app) serverPid() int {
	pid, _ := strconv.Atoi(a.read("server.pid"))
	return pid
}

// TestServerKilled kills the GlobalData server process with SIGKILL under
// the master, which starts a new (empty) one. Requests made around the
// kill each get an answer in bounded time: the server's, or an error that
// says whether the request took effect; afterwards everything works again.
func TestServerKilled(t *testing.T) {
	const timeout = 1500 * time.Millisecond
	ctlAddr := freePort(t)
	a := startApp(t, "GD_CTL="+ctlAddr, fmt.Sprint("GD_TIMEOUT_MS=", timeout.Milliseconds()))
	waitFor(t, "server.pid", func() bool { return a.serverPid() > 0 })
	c := a.ctl(ctlAddr)
	limit := timeout + 3*time.Second // the client's timeout bounds every answer

	check(t, "set", c.ask("set k 1", limit), "ok")
	check(t, "incr", c.ask("incr k", limit), "ok 2")

	old := a.serverPid()
	noErr(t, syscall.Kill(old, syscall.SIGKILL))
	// Requests made now: some reach the dying server, some wait for the
	// new one, some may run out of time.
	answers := map[string]int{}
	restarted := time.Time{}
	for i := 0; ; i++ {
		r := c.ask("incr k", limit)
		switch {
		case r == "absent":
			// Performed by the new server, which starts empty.
			answers["performed by the new server"]++
		case strings.HasPrefix(r, "ok "):
			answers["performed"]++
		case strings.Contains(r, "may or may not have taken effect"):
			answers["outcome unknown"]++
		case strings.Contains(r, "request not sent; it did not take effect"):
			answers["not sent"]++
		default:
			t.Fatalf("answer %d: %q", i, r)
		}
		if restarted.IsZero() && a.serverPid() != old && a.serverPid() > 0 {
			restarted = time.Now()
		}
		if !restarted.IsZero() && time.Since(restarted) > 500*time.Millisecond {
			break
		}
		if i > 2000 {
			t.Fatal("the server was not restarted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("answers around the kill: %v", answers)

	// Back to normal on the new server.
	check(t, "get on the new server", c.ask("get k", limit), "absent")
	check(t, "set on the new server", c.ask("set k 5", limit), "ok")
	check(t, "incr on the new server", c.ask("incr k", limit), "ok 6")
	g := dial(t, []string{a.addr}, nil)
	v, err := g.GetContext(ctx(t), "k")
	noErr(t, err)
	check(t, "k seen from another client", v, 6)

	// reload replaces the ctl process and keeps the server with its data.
	pid := a.serverPid()
	if out, err := a.run("reload"); err != nil {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	c = a.ctl(ctlAddr)
	waitFor(t, "the reloaded ctl worker", func() bool { return c.ask("get k", limit) == "value 6" })
	check(t, "server pid after reload", a.serverPid(), pid)
}
