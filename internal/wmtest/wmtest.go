// Package wmtest runs workers inside a test binary: it starts the process
// event loop once on a goroutine and lets tests run code on it.
package wmtest

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
)

// Start runs the process event loop on its own goroutine, once.
func Start() { workerman.StartLoop() }

// Do runs f on the event loop and waits for it to return.
func Do(f func()) {
	Start()
	done := make(chan struct{})
	workerman.Post(func() {
		defer close(done)
		f()
	})
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		panic("wmtest: event loop did not run the task within 30s")
	}
}

// Serve makes w listen on the loop, runs its OnWorkerStart, and stops it
// when the test ends. It returns the address the worker listens on
// ("127.0.0.1:port" for IP workers, the path for Unix sockets).
func Serve(t testing.TB, w *workerman.Worker) string {
	t.Helper()
	var err error
	var addr string
	Do(func() {
		if err = w.Listen(); err != nil {
			return
		}
		if a := w.Addr(); a != nil {
			addr = a.String()
		}
		if w.OnWorkerStart != nil {
			w.OnWorkerStart(w)
		}
	})
	if err != nil {
		t.Fatalf("listen %s: %v", w.SocketName(), err)
	}
	t.Cleanup(func() { Do(w.Stop) })
	return addr
}

// RequireTool returns the path of an external program a test needs (curl,
// chromium, node …). When it is missing the test fails if the environment
// says tools are required (CI or WORKERMAN_REQUIRE_TOOLS set, as the
// project's test command does) and is skipped otherwise, with the reason.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" || os.Getenv("WORKERMAN_REQUIRE_TOOLS") != "" {
		t.Fatalf("%s is required by this test and is not installed (the project's test command installs it)", name)
	}
	t.Skipf("%s not installed; run the project's test command to install it", name)
	return ""
}
