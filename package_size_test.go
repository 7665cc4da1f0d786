package workerman_test

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// frame returns a frame-protocol package with a body of n bytes.
func frame(n int) []byte {
	b := make([]byte, 4+n)
	binary.BigEndian.PutUint32(b, uint32(4+n))
	return b
}

// TestDefaultMaxPackageSizeIsCopied: DefaultMaxPackageSize is copied into
// each connection when it is created, so a change applies to later
// connections only, and a connection's own MaxPackageSize can be changed.
func TestDefaultMaxPackageSizeIsCopied(t *testing.T) {
	old := workerman.DefaultMaxPackageSize
	t.Cleanup(func() { wmtest.Do(func() { workerman.DefaultMaxPackageSize = old }) })
	w := workerman.NewWorker("frame://127.0.0.1:0")
	limits := make(chan int, 8)
	w.OnConnect = func(c *workerman.Connection) { limits <- c.MaxPackageSize }
	w.OnMessage = func(c *workerman.Connection, data any) {
		if string(data.([]byte)[:3]) == "big" {
			c.MaxPackageSize = 1 << 20
		}
		c.Send([]byte("ok"))
	}
	addr := wmtest.Serve(t, w)
	wmtest.Do(func() { workerman.DefaultMaxPackageSize = 100 })

	// ask sends a package of n body bytes and reports whether it was
	// answered (true) or the connection was closed (false).
	ask := func(c net.Conn, body []byte) bool {
		t.Helper()
		p := frame(len(body))
		copy(p[4:], body)
		if _, err := c.Write(p); err != nil {
			return false
		}
		reply := make([]byte, 6)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, reply); err != nil {
			return false
		}
		return true
	}
	small := dial(t, "tcp", addr)
	if got := <-limits; got != 100 {
		t.Fatalf("new connection's MaxPackageSize = %d, want the current default 100", got)
	}
	if ask(small, make([]byte, 200)) {
		t.Fatal("a 204-byte package passed a limit of 100")
	}

	// A connection made while the default is 100, then the default is
	// raised: the connection keeps its copy.
	early := dial(t, "tcp", addr)
	<-limits
	wmtest.Do(func() { workerman.DefaultMaxPackageSize = 1000 })
	if ask(early, make([]byte, 200)) {
		t.Fatal("raising DefaultMaxPackageSize changed an existing connection's limit")
	}
	late := dial(t, "tcp", addr)
	if got := <-limits; got != 1000 {
		t.Fatalf("MaxPackageSize = %d after raising the default, want 1000", got)
	}
	if !ask(late, make([]byte, 200)) {
		t.Fatal("a 204-byte package was refused under a limit of 1000")
	}
	// One connection's own limit.
	if !ask(late, []byte("big")) {
		t.Fatal("no answer")
	}
	if !ask(late, make([]byte, 5000)) {
		t.Fatal("a connection's raised MaxPackageSize was not applied")
	}
}
