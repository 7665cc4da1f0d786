package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman/globaldata"
)

// TestServer builds the program, starts it as a daemon, shares a variable
// through it between two clients, reads its status and stops it.
func TestServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the program")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "globaldata-server")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	flags := []string{"-listen", addr, "-pidfile", filepath.Join(dir, "gd.pid"), "-max-package-size", "65536"}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append(append([]string(nil), flags...), args...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			return out.String(), err
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			return out.String(), context.DeadlineExceeded
		}
	}
	out, err := run("start", "-d")
	if err != nil || !strings.Contains(out, "Start success.") {
		t.Fatalf("start -d: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := run("stop"); err != nil {
			t.Errorf("stop: %v\n%s", err, out)
		}
	})
	if !strings.Contains(out, "GlobalDataServer") {
		t.Errorf("the start table does not name the server:\n%s", out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := globaldata.Dial(ctx, []string{addr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := globaldata.Dial(ctx, []string{"tcp://" + addr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.SetContext(ctx, "greeting", map[string]string{"text": "hello"}); err != nil {
		t.Fatal(err)
	}
	v, err := b.GetContext(ctx, "greeting")
	if err != nil || v.String() != `{"text":"hello"}` {
		t.Fatalf("get: %v %v", v, err)
	}
	if n, ok, err := b.IncrementContext(ctx, "greeting", 5); err != nil || !ok || n != 5 {
		t.Fatalf("increment of a map: %d %v %v", n, ok, err)
	}
	// -max-package-size applies: a larger request closes the connection,
	// and the client says the outcome is unknown.
	err = a.SetContext(ctx, "big", strings.Repeat("x", 70000))
	if err == nil || !strings.Contains(err.Error(), "may or may not") {
		t.Fatalf("set beyond -max-package-size: %v", err)
	}

	out, err = run("status")
	if err != nil || !strings.Contains(out, "GlobalDataServer") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "gd.pid")); err != nil {
		t.Fatalf("pid file: %v", err)
	}
}
