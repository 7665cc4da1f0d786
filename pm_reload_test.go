//go:build linux

package workerman_test

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/testcert"
)

// Rolling reload: under load, over TLS, with a broken binary, with
// SO_REUSEPORT, UDP, Unix sockets and inner workers, through a symbolic
// link.

// pmLoad opens short connections (connect, send a line, read the reply,
// close) from a few goroutines until stopped, and counts what went wrong
// and which build answered.
type pmLoad struct {
	addr     string
	tls      *tls.Config
	req      string
	parse    func(reply string) (version string, err error)
	stop     chan struct{}
	wg       sync.WaitGroup
	ok, fail atomic.Int64
	mu       sync.Mutex
	errs     []string
	versions map[string]int
}

// pmStartLoad pings the main worker.
func pmStartLoad(addr string, workers int, tc *tls.Config) *pmLoad {
	return pmStartLineLoad(addr, workers, tc, "ping", func(r string) (string, error) {
		if f := strings.Fields(r); len(f) == 5 && f[0] == "pong" {
			return f[2], nil
		}
		return "", fmt.Errorf("bad reply %q", r)
	})
}

// pmInnerReply parses "inner <version> <pid>".
func pmInnerReply(r string) (string, error) {
	if f := strings.Fields(r); len(f) == 3 && f[0] == "inner" {
		return f[1], nil
	}
	return "", fmt.Errorf("bad reply %q", r)
}

func pmStartLineLoad(addr string, workers int, tc *tls.Config, req string, parse func(string) (string, error)) *pmLoad {
	l := &pmLoad{addr: addr, tls: tc, req: req, parse: parse, stop: make(chan struct{}), versions: map[string]int{}}
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
		version, err := l.once()
		l.mu.Lock()
		if err != nil {
			l.fail.Add(1)
			if len(l.errs) < 10 {
				l.errs = append(l.errs, err.Error())
			}
		} else {
			l.ok.Add(1)
			l.versions[version]++
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
	if _, err := c.Write([]byte(l.req + "\n")); err != nil {
		return "", err
	}
	r, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read: %w (got %q)", err, r)
	}
	return l.parse(strings.TrimSpace(r))
}

// check reports the failures of a finished load and that build want
// answered some of its requests.
func (l *pmLoad) check(t *testing.T, what, want string) {
	t.Helper()
	t.Logf("%s: %d requests ok, %d failed, by version %v", what, l.ok.Load(), l.fail.Load(), l.versions)
	if l.fail.Load() != 0 {
		t.Errorf("%s: %d requests failed: %v", what, l.fail.Load(), l.errs)
	}
	if want != "" && l.versions[want] == 0 {
		t.Errorf("%s: no request reached build %s: %v", what, want, l.versions)
	}
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

// Inner workers (listened on in OnWorkerStart) keep accepting across
// reload, reload -g and a second reload: the master keeps their sockets,
// and the new process of each slot accepts from the same queue as the old
// one. Both kinds are tried: one address shared with SO_REUSEPORT, and an
// address per process (the manual's port + ID).
func testInnerWorkerReload(t *testing.T, bins pmBins) {
	shared, base := pmFreePort(t), pmFreePorts(t, 2)
	s := newSvc(t, bins.v1, fmt.Sprintf("SVC_INNER_ADDR=text://127.0.0.1:%d", shared), fmt.Sprintf("SVC_INNER_BASE=%d", base))
	s.startDaemon()
	before := pmWorkerProcs(s.status(), "svc")
	loads := map[string]*pmLoad{
		"main":    pmStartLoad(s.addr(), 2, nil),
		"shared":  pmStartLineLoad(fmt.Sprintf("127.0.0.1:%d", shared), 2, nil, "hi", pmInnerReply),
		"inner 0": pmStartLineLoad(fmt.Sprintf("127.0.0.1:%d", base), 1, nil, "hi", pmInnerReply),
		"inner 1": pmStartLineLoad(fmt.Sprintf("127.0.0.1:%d", base+1), 1, nil, "hi", pmInnerReply),
	}
	time.Sleep(200 * time.Millisecond)
	s.install(bins.v2)
	for _, args := range [][]string{{"reload"}, {"reload", "-g"}, {"reload"}} {
		if out := s.must(args...); !strings.Contains(out, "reload success") {
			t.Errorf("%v: %s", args, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for name, l := range loads {
		l.finish()
		l.check(t, name, "v2")
	}
	after := pmWorkerProcs(s.status(), "svc")
	for id, pid := range after {
		if pid == before[id] {
			t.Errorf("id %d still served by the old process %d", id, pid)
		}
	}
	// The inner workers' sockets are closed when everything stops.
	s.must("stop")
	for _, port := range []int{shared, base, base + 1} {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			c.Close()
			t.Errorf("port %d still accepts after stop", port)
		}
	}
}

// A new process whose inner worker cannot listen fails the reload, with
// the reason, even when the program only logs the error; the old processes
// keep serving. start reports the same failure.
func testReloadInnerListenFails(t *testing.T, bins pmBins) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	s := newSvc(t, bins.v1, "SVC_BUSY_ADDR="+busy.Addr().String())
	s.startDaemon()
	before := pmWorkerProcs(s.status(), "svc")
	s.install(bins.extra)
	out, code := s.run("reload")
	for _, want := range []string{"reload fail", "worker extra (text://" + busy.Addr().String() + ") could not listen", "address already in use"} {
		if !strings.Contains(out, want) {
			t.Errorf("reload output lacks %q (exit %d):\n%s", want, code, out)
		}
	}
	if code != workerman.ExitFailure || strings.Contains(out, "reload success") {
		t.Errorf("reload exit %d:\n%s", code, out)
	}
	if log := s.read("svc.log"); !strings.Contains(log, "reload failed") || !strings.Contains(log, "could not listen") {
		t.Errorf("the log does not record the failure:\n%s", log)
	}
	after := pmWorkerProcs(s.status(), "svc")
	if after[0] != before[0] || after[1] != before[1] {
		t.Errorf("processes changed from %v to %v", before, after)
	}
	if p := pmParsePong(t, s.mustAsk("ping")); p.version != "v1" {
		t.Errorf("ping %+v", p)
	}
	s.must("stop")
	out, code = s.run("start", "-d")
	if code != workerman.ExitFailure || !strings.Contains(out, "could not listen") {
		t.Errorf("start of the build whose inner worker cannot listen: exit %d\n%s", code, out)
	}
}
