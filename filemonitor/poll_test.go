package filemonitor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman/internal/unix"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// TestPollingReload runs the program with Poll forced: changes of watched
// files and a rebuilt executable reload it as with inotify, and hidden
// files and files of other extensions do not.
func TestPollingReload(t *testing.T) {
	_, v2 := appBuilds(t)
	a := newApp(t, "FM_POLL=1", "FM_EXT=.html")
	a.startForeground()
	a.waitOutput("FileMonitor polls modification times", 1)
	if r := a.ping(); !strings.HasPrefix(r, "pong v1 ") {
		t.Fatalf("ping: %q", r)
	}
	a.write(".hidden.html")
	a.write("notes.txt")
	a.write("sub/dir/page.html")
	a.waitOutput("reloaded", 1)
	out := a.out.String()
	if !strings.Contains(out, filepath.Join("sub", "dir", "page.html")) || strings.Contains(out, "notes.txt") || strings.Contains(out, ".hidden") {
		t.Errorf("output:\n%s", out)
	}
	a.install(v2)
	a.waitOutput("reloaded", 2)
	if r := a.ping(); !strings.HasPrefix(r, "pong v2 ") {
		t.Errorf("after rebuilding the executable: %q", r)
	}
	// A file removed counts too.
	os.Remove(filepath.Join(a.dir, "watched", "sub", "dir", "page.html"))
	a.waitOutput("reloaded", 3)
}

// TestFallbackToPolling: when inotify cannot be used the monitor polls
// instead of giving up.
func TestFallbackToPolling(t *testing.T) {
	init := inotifyInit
	inotifyInit = func() (int, error) { return -1, unix.EMFILE }
	t.Cleanup(func() { inotifyInit = init })
	dir := t.TempDir()
	reloads := make(chan bool, 10)
	var m *monitor
	var err error
	wmtest.Do(func() {
		m, err = start(Options{Dirs: []string{dir}, SkipExecutable: true, Delay: 10 * time.Millisecond, PollInterval: 20 * time.Millisecond})
		if err == nil {
			m.reload = func(graceful bool) error { reloads <- graceful; return nil }
		}
	})
	if err != nil {
		t.Fatalf("start without inotify: %v", err)
	}
	t.Cleanup(func() { wmtest.Do(m.close) })
	if m.fd >= 0 || m.pollTimer == 0 {
		t.Fatalf("not polling: fd %d, poll timer %d", m.fd, m.pollTimer)
	}
	for i, change := range []func(p string) error{
		func(p string) error { return os.WriteFile(p, []byte("one"), 0o644) },                     // new
		func(p string) error { return os.WriteFile(p, []byte("two!"), 0o644) },                    // changed
		func(p string) error { return os.Chmod(p, 0o600) },                                        // mode
		func(p string) error { return os.Remove(p) },                                              // removed
		func(p string) error { return os.MkdirAll(filepath.Join(p+".d", "x"), 0o755) },            // empty dirs: no
		func(p string) error { return os.WriteFile(filepath.Join(p+".d", "x", "f"), nil, 0o644) }, // new in a new dir
	} {
		if err := change(filepath.Join(dir, "f.txt")); err != nil {
			t.Fatal(err)
		}
		want := i != 4
		select {
		case <-reloads:
			if !want {
				t.Fatalf("change %d: reload for an empty directory", i)
			}
		case <-time.After(map[bool]time.Duration{true: 10 * time.Second, false: 500 * time.Millisecond}[want]):
			if want {
				t.Fatalf("change %d: no reload", i)
			}
		}
	}
	wmtest.Do(m.close)
	wmtest.Do(func() {})
	if m.pollTimer != 0 {
		t.Error("close left the poll timer")
	}
}
