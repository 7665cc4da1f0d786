package filemonitor

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/workerman-go/workerman/internal/unix"
)

func rawEvent(wd int32, mask uint32, name string) []byte {
	n := 0
	if name != "" {
		n = (len(name) + 1 + 15) / 16 * 16 // NUL-padded like the kernel's
	}
	b := binary.NativeEndian.AppendUint32(nil, uint32(wd))
	b = binary.NativeEndian.AppendUint32(b, mask)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = binary.NativeEndian.AppendUint32(b, uint32(n))
	name += strings.Repeat("\x00", n-len(name))
	return append(b, name...)
}

func TestParseEvents(t *testing.T) {
	buf := append(rawEvent(1, unix.IN_CLOSE_WRITE, "main.go"), rawEvent(2, unix.IN_CREATE|unix.IN_ISDIR, "sub")...)
	buf = append(buf, rawEvent(3, unix.IN_Q_OVERFLOW, "")...)
	evs, err := parseEvents(buf)
	if err != nil || len(evs) != 3 {
		t.Fatalf("%+v %v", evs, err)
	}
	if evs[0].wd != 1 || evs[0].name != "main.go" || evs[0].mask != unix.IN_CLOSE_WRITE {
		t.Errorf("first event %+v", evs[0])
	}
	if evs[1].name != "sub" || evs[1].mask&unix.IN_ISDIR == 0 || evs[2].name != "" {
		t.Errorf("events %+v", evs)
	}
	// The last event is 16 bytes with no name: cutting exactly it leaves a
	// valid buffer, cutting into any event does not.
	if evs, err := parseEvents(buf[:len(buf)-16]); err != nil || len(evs) != 2 {
		t.Errorf("without the last event: %+v %v", evs, err)
	}
	for _, cut := range []int{1, 15, 17, len(buf) - 1} {
		if _, err := parseEvents(buf[:len(buf)-cut]); err != errShortEvent {
			t.Errorf("buffer cut by %d: %v, want errShortEvent", cut, err)
		}
	}
	huge := binary.NativeEndian.AppendUint32(make([]byte, 12), 1<<31)
	if _, err := parseEvents(huge); err != errShortEvent {
		t.Errorf("huge length: %v", err)
	}
}

func FuzzParseEvents(f *testing.F) {
	f.Add(rawEvent(1, unix.IN_CLOSE_WRITE, "a.go"))
	f.Add(append(rawEvent(1, unix.IN_MOVED_TO, "app"), rawEvent(2, unix.IN_DELETE_SELF, "")...))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := parseEvents(b)
		total := 0
		for _, e := range evs {
			if strings.IndexByte(e.name, 0) >= 0 {
				t.Fatalf("name with NUL: %q", e.name)
			}
			total += unix.SizeofInotifyEvent + len(e.name)
		}
		if err == nil && total > len(b) {
			t.Fatalf("events longer than their buffer")
		}
	})
}

func TestIgnored(t *testing.T) {
	for name, want := range map[string]bool{".git": true, "main.go~": true, ".main.go.swp": true, "4913": true, "main.go": false, "index.html": false} {
		if ignored(name) != want {
			t.Errorf("ignored(%q) = %v", name, !want)
		}
	}
}

func TestNewChecksDirs(t *testing.T) {
	if _, err := New(Options{Dirs: []string{"/does/not/exist"}}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing directory: %v", err)
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := New(Options{Dirs: []string{f}}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file: %v", err)
	}
}

// The tests below build testdata/app and run it as a user would.

var (
	buildOnce sync.Once
	builds    [2]string
	buildErr  error
	buildDir  string
)

func appBuilds(t *testing.T) (v1, v2 string) {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "filemonitor-test")
		if buildErr != nil {
			return
		}
		for i, v := range []string{"v1", "v2"} {
			builds[i] = filepath.Join(buildDir, "app-"+v)
			out, err := exec.Command("go", "build", "-o", builds[i], "-ldflags", "-X main.version="+v, "./testdata/app").CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("go build: %v\n%s", err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builds[0], builds[1]
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

type app struct {
	t    *testing.T
	dir  string
	bin  string
	addr string
	env  []string
	out  syncBuf
	cmd  *exec.Cmd
	done chan error
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newApp(t *testing.T, env ...string) *app {
	t.Helper()
	v1, _ := appBuilds(t)
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	a := &app{t: t, dir: dir, bin: filepath.Join(dir, "app"), addr: addr, done: make(chan error, 1)}
	a.install(v1)
	os.MkdirAll(filepath.Join(dir, "watched", "sub", "dir"), 0o755)
	a.env = append(os.Environ(),
		"FM_PIDFILE="+filepath.Join(dir, "app.pid"),
		"FM_STDOUT="+filepath.Join(dir, "stdout.log"),
		"FM_ADDR=text://"+addr,
		"FM_DIR="+filepath.Join(dir, "watched"),
	)
	a.env = append(a.env, env...)
	t.Cleanup(func() {
		cmd := exec.Command(a.bin, "stop")
		cmd.Env = a.env
		cmd.Run()
		if a.cmd != nil {
			select {
			case <-a.done:
			case <-time.After(10 * time.Second):
				a.cmd.Process.Kill()
			}
		}
	})
	return a
}

// install replaces the executable the way a build does: a new file renamed
// over the old one (written by cp, so that no descriptor open for writing
// leaks into a process forked meanwhile).
func (a *app) install(bin string) {
	tmp := a.bin + ".new"
	if out, err := exec.Command("cp", bin, tmp).CombinedOutput(); err != nil {
		a.t.Fatalf("cp: %v %s", err, out)
	}
	if err := os.Rename(tmp, a.bin); err != nil {
		a.t.Fatal(err)
	}
}

func (a *app) startForeground() {
	a.t.Helper()
	a.cmd = exec.Command(a.bin, "start")
	a.cmd.Env = a.env
	a.cmd.Stdout = &a.out
	a.cmd.Stderr = &a.out
	if err := a.cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	go func() { a.done <- a.cmd.Wait() }()
	a.waitOutput("Start success.", 1)
}

func (a *app) waitOutput(s string, n int) {
	a.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(a.out.String(), s) < n {
		if time.Now().After(deadline) {
			a.t.Fatalf("no %d× %q in the output:\n%s", n, s, a.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (a *app) ping() string {
	a.t.Helper()
	c, err := net.DialTimeout("tcp", a.addr, 5*time.Second)
	if err != nil {
		a.t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("ping\n"))
	r, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		a.t.Fatal(err)
	}
	return strings.TrimSpace(r)
}

func (a *app) write(rel string) {
	a.t.Helper()
	p := filepath.Join(a.dir, "watched", rel)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(time.Now().String()), 0o644); err != nil {
		a.t.Fatal(err)
	}
}

func TestReloadOnFileChange(t *testing.T) {
	a := newApp(t)
	a.startForeground()
	before := a.ping()
	// Editors' temporary and hidden files do not count; the first file that
	// counts is the one the log names.
	a.write(".notes.swp")
	a.write("draft~")
	a.write("sub/dir/page.html")
	a.waitOutput("reloaded", 1)
	out := a.out.String()
	if !strings.Contains(out, "a file changed; reloading") || !strings.Contains(out, filepath.Join("sub", "dir", "page.html")) {
		t.Errorf("output:\n%s", out)
	}
	if strings.Contains(out, "notes.swp") || strings.Contains(out, "draft~") {
		t.Errorf("an ignored file triggered the reload:\n%s", out)
	}
	if after := a.ping(); after == before {
		t.Errorf("still served by %q after the reload", after)
	}
	// A directory created after the start is watched too.
	a.write("sub/dir/new/more.txt")
	a.waitOutput("reloaded", 2)
}

func TestReloadOnRebuild(t *testing.T) {
	_, v2 := appBuilds(t)
	a := newApp(t)
	a.startForeground()
	if r := a.ping(); !strings.HasPrefix(r, "pong v1 ") {
		t.Fatalf("ping: %q", r)
	}
	a.install(v2)
	a.waitOutput("reloaded", 1)
	if r := a.ping(); !strings.HasPrefix(r, "pong v2 ") {
		t.Errorf("after rebuilding the executable: %q", r)
	}
}

func TestExtensions(t *testing.T) {
	a := newApp(t, "FM_EXT=.html,.tmpl")
	a.startForeground()
	a.write("notes.txt")
	a.write("index.tmpl")
	a.waitOutput("reloaded", 1)
	out := a.out.String()
	if !strings.Contains(out, "index.tmpl") || strings.Contains(out, "notes.txt") {
		t.Errorf("output:\n%s", out)
	}
}

func TestOffInDaemonMode(t *testing.T) {
	a := newApp(t)
	cmd := exec.Command(a.bin, "start", "-d")
	cmd.Env = a.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start -d: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(a.dir, "app.log"))
		if strings.Contains(string(b), "FileMonitor is off in daemon mode") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log:\n%s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
