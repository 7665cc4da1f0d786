//go:build unix

package workerman_test

import (
	"bytes"
	"fmt"
	"io"
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
	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// TestUDP is 如何建立udp服务: each datagram is a message; the connection
// answers the peer; there is no OnConnect or OnClose.
func TestUDP(t *testing.T) {
	rec := newRecorder()
	w := workerman.NewWorker("udp://127.0.0.1:0")
	w.OnConnect = func(c *workerman.Connection) { rec.add("connect") }
	w.OnClose = func(c *workerman.Connection) { rec.add("close") }
	w.OnMessage = func(c *workerman.Connection, data any) {
		c.Send("get " + string(data.([]byte)) + " from " + c.RemoteAddress())
	}
	addr := wmtest.Serve(t, w)
	c := dial(t, "udp", addr)
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("datagram %d", i)
		c.Write([]byte(msg))
		buf := make([]byte, 100)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		want := "get " + msg + " from " + c.LocalAddr().String()
		if string(buf[:n]) != want {
			t.Fatalf("got %q want %q", buf[:n], want)
		}
	}
	if len(rec.list()) != 0 {
		t.Fatalf("UDP worker fired %v", rec.list())
	}
}

// TestUDPWithTextProtocol: a protocol over UDP decodes each datagram.
func TestUDPWithTextProtocol(t *testing.T) {
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.Transport = "udp"
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(strings.ToUpper(data.(string))) }
	addr := wmtest.Serve(t, w)
	c := dial(t, "udp", addr)
	c.Write([]byte("one\ntwo\n"))
	buf := make([]byte, 100)
	for _, want := range []string{"ONE\n", "TWO\n"} {
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("got %q %v, want %q", buf[:n], err, want)
		}
	}
}

func TestUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wm.sock")
	w := workerman.NewWorker("unix://" + path)
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(data) }
	wmtest.Serve(t, w)
	c := dial(t, "unix", path)
	c.Write([]byte("over unix"))
	buf := make([]byte, 9)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "over unix" {
		t.Fatalf("got %q %v", buf, err)
	}
	// A stale socket file left by a dead process does not stop a restart.
	wmtest.Do(w.Stop)
	os.WriteFile(path+".x", nil, 0o600)
	l, _ := net.Listen("unix", path)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	w2 := workerman.NewWorker("unix://" + path)
	w2.Protocol = workerman.Text
	w2.OnMessage = func(c *workerman.Connection, data any) { c.Send("text:" + data.(string)) }
	wmtest.Serve(t, w2)
	c2 := dial(t, "unix", path)
	c2.Write([]byte("hi\n"))
	buf = make([]byte, 8)
	if _, err := io.ReadFull(c2, buf); err != nil || string(buf) != "text:hi\n" {
		t.Fatalf("got %q %v", buf, err)
	}
}

// TestUnixSocketRemoteAddress: a Unix-socket connection's RemoteAddress is
// the path the client bound, or the worker's socket path for an unnamed
// client (the usual case).
func TestUnixSocketRemoteAddress(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wm.sock")
	w := workerman.NewWorker("unix://" + path)
	w.OnMessage = func(c *workerman.Connection, data any) {
		c.Send(fmt.Sprintf("%s|%s|%d", c.RemoteAddress(), c.RemoteIP(), c.RemotePort()))
	}
	wmtest.Serve(t, w)
	named := filepath.Join(dir, "client.sock")
	for _, laddr := range []*net.UnixAddr{nil, {Name: named, Net: "unix"}} {
		c, err := net.DialUnix("unix", laddr, &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("who"))
		buf := make([]byte, 256)
		n, err := c.Read(buf)
		c.Close()
		want := path + "||0"
		if laddr != nil {
			want = named + "||0"
		}
		if got := string(buf[:n]); err != nil || got != want {
			t.Fatalf("client bound to %v: server saw %q (%v), want %q", laddr, got, err, want)
		}
	}
}

// TestIPv6DualStack is the manual's ":::port": one worker reachable over
// IPv4 and IPv6.
func TestIPv6DualStack(t *testing.T) {
	if _, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback on this machine: %v", err)
	}
	port := freePort(t)
	w := workerman.NewWorker(fmt.Sprintf("text://:::%d", port))
	w.OnMessage = func(c *workerman.Connection, data any) {
		c.Send(fmt.Sprintf("%s %d %s", c.RemoteIP(), c.RemotePort(), c.RemoteAddress()))
	}
	wmtest.Serve(t, w)
	for network, host := range map[string]string{"tcp4": "127.0.0.1", "tcp6": "::1"} {
		c := dial(t, network, net.JoinHostPort(host, strconv.Itoa(port)))
		c.Write([]byte("who\n"))
		buf := make([]byte, 128)
		n, _ := c.Read(buf)
		la := c.LocalAddr().(*net.TCPAddr)
		want := fmt.Sprintf("%s %d %s", host, la.Port, la.String())
		if got := strings.TrimSpace(string(buf[:n])); got != want {
			t.Fatalf("%s: server saw %q, want %q", network, got, want)
		}
	}
	w6 := workerman.NewWorker("tcp://[::1]:0")
	w6.OnMessage = func(c *workerman.Connection, data any) { c.Send(c.LocalIP()) }
	addr := wmtest.Serve(t, w6)
	c := dial(t, "tcp6", addr)
	c.Write([]byte("x"))
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	if string(buf[:n]) != "::1" {
		t.Fatalf("LocalIP over IPv6 = %q", buf[:n])
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestListenErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := map[string]string{
		"tcp://" + busy.Addr().String(): "address already in use",
		"tcp://192.0.2.1:8080":          "cannot assign requested address",
		"127.0.0.1:80":                  "has no scheme",
		"tcp://127.0.0.1:99999":         "bad port",
		"tcp://127.0.0.1":               "missing port",
		"unix://":                       "no socket path",
	}
	if os.Geteuid() != 0 {
		cases["tcp://127.0.0.1:80"] = "permission denied"
	}
	for addr, want := range cases {
		w := workerman.NewWorker(addr)
		var err error
		wmtest.Do(func() { err = w.Listen() })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Listen(%q) = %v, want an error mentioning %q", addr, err, want)
		}
	}
	w := workerman.NewWorker("tcp://127.0.0.1:0")
	w.Transport = "sctp"
	wmtest.Do(func() { err = w.Listen() })
	if err == nil || !strings.Contains(err.Error(), "unknown transport") {
		t.Errorf("Listen with transport sctp = %v", err)
	}
}

func TestConnectionIdentity(t *testing.T) {
	ids := make(chan int, 10)
	info := make(chan string, 10)
	w := workerman.NewWorker("tcp://127.0.0.1:0")
	w.OnConnect = func(c *workerman.Connection) {
		ids <- c.ID
		info <- fmt.Sprintf("%s %d %s %s %s", c.RemoteIP(), c.RemotePort(), c.LocalAddress(), c.Transport(), c.RemoteAddress())
		if c.Worker != w {
			info <- "wrong worker"
		}
	}
	addr := wmtest.Serve(t, w)
	var prev int
	for i := 0; i < 3; i++ {
		c := dial(t, "tcp", addr)
		id := <-ids
		if id <= prev {
			t.Fatalf("connection id %d after %d", id, prev)
		}
		prev = id
		la := c.LocalAddr().(*net.TCPAddr)
		want := fmt.Sprintf("127.0.0.1 %d %s tcp %s", la.Port, addr, la.String())
		if got := <-info; got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
}

// TestProtocolSwitch changes a connection's protocol at runtime: after a
// "binary" line the same connection speaks frame.
func TestProtocolSwitch(t *testing.T) {
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) {
		switch v := data.(type) {
		case string:
			if v == "binary" {
				c.Send("ok")
				c.Protocol = workerman.Frame
			}
		case []byte:
			c.Send(append([]byte("frame:"), v...))
		}
	}
	c := dial(t, "tcp", wmtest.Serve(t, w))
	// Both packages in one write: the rest of the buffer is parsed with
	// the new protocol.
	c.Write([]byte("binary\n\x00\x00\x00\x07abc"))
	buf := make([]byte, 3+13)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf[:3]) != "ok\n" || string(buf[7:]) != "frame:abc" {
		t.Fatalf("got %q", buf)
	}
}

// TestPipelinedRepliesInOrder sends many requests in one write; the
// replies come back complete and in order, and the counters agree.
func TestPipelinedRepliesInOrder(t *testing.T) {
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send("r" + data.(string)) }
	addr := wmtest.Serve(t, w)
	var before workerman.Stats
	wmtest.Do(func() { before = workerman.ProcessStats() })
	c := dial(t, "tcp", addr)
	var req, want bytes.Buffer
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&req, "%d\n", i)
		fmt.Fprintf(&want, "r%d\n", i)
	}
	c.Write(req.Bytes())
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("pipelined replies out of order or damaged")
	}
	var after workerman.Stats
	wmtest.Do(func() { after = workerman.ProcessStats() })
	if d := after.TotalRequest - before.TotalRequest; d != 1000 {
		t.Fatalf("total_request grew by %d, want 1000", d)
	}
	if d := after.Connections - before.Connections; d != 1 {
		t.Fatalf("connections grew by %d, want 1", d)
	}
}

// TestWatchDescriptor is Worker::$globalEvent->add: the loop watches a
// descriptor of the application's own.
func TestWatchDescriptor(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	fd := int(r.Fd())
	syscall.SetNonblock(fd, true)
	got := make(chan string, 1)
	wmtest.Do(func() {
		err = workerman.EventLoop().AddHandler(fd, eventloop.Readable, eventloop.HandlerFunc(func(fd int, ev eventloop.Event) {
			buf := make([]byte, 64)
			n, _ := syscall.Read(fd, buf)
			workerman.EventLoop().RemoveHandler(fd)
			got <- string(buf[:n])
		}))
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("ready"))
	select {
	case s := <-got:
		if s != "ready" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watcher never ran")
	}
}

// TestSendOnClosed returns SendFailed without OnError.
func TestSendOnClosed(t *testing.T) {
	rec := newRecorder()
	res := make(chan workerman.SendResult, 1)
	w := workerman.NewWorker("tcp://127.0.0.1:0")
	w.OnError = func(c *workerman.Connection, code int, msg string) { rec.add("error") }
	w.OnClose = func(c *workerman.Connection) { res <- c.Send("late") }
	c := dial(t, "tcp", wmtest.Serve(t, w))
	c.Close()
	if r := <-res; r != workerman.SendFailed {
		t.Fatalf("Send in OnClose = %v", r)
	}
	if len(rec.list()) != 0 {
		t.Fatalf("OnError fired: %v", rec.list())
	}
}

// TestAcceptSurvivesEMFILE runs a server in a child process limited to a
// few descriptors, exhausts them, and checks the server keeps serving the
// connections it has and accepts again once descriptors are free.
func TestAcceptSurvivesEMFILE(t *testing.T) {
	if os.Getenv("WM_EMFILE_CHILD") == "1" {
		emfileChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptSurvivesEMFILE$")
	cmd.Env = append(os.Environ(), "WM_EMFILE_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line := make([]byte, 64)
	n, err := out.Read(line)
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(string(line[:n]))
	// The child has room for about 20 connections; open 60.
	var conns []net.Conn
	for i := 0; i < 60; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// The first connections are served.
	c0 := conns[0]
	c0.SetDeadline(time.Now().Add(10 * time.Second))
	c0.Write([]byte("a\n"))
	buf := make([]byte, 3)
	if _, err := io.ReadFull(c0, buf); err != nil || string(buf) != "a!\n" {
		t.Fatalf("served connection: %q %v", buf, err)
	}
	// Free descriptors; the queued connections are then accepted and served.
	for _, c := range conns[:40] {
		c.Close()
	}
	last := conns[59]
	last.SetDeadline(time.Now().Add(10 * time.Second))
	last.Write([]byte("z\n"))
	if _, err := io.ReadFull(last, buf); err != nil || string(buf) != "z!\n" {
		t.Fatalf("connection queued during EMFILE: %q %v", buf, err)
	}
	for _, c := range conns[40:] {
		c.Close()
	}
}

func emfileChild() {
	lim := syscall.Rlimit{Cur: 32, Max: 32}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		os.Exit(1)
	}
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(data.(string) + "!") }
	workerman.Post(func() {
		if err := w.Listen(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(w.Addr().String())
	})
	workerman.EventLoop().Run()
	os.Exit(0)
}
