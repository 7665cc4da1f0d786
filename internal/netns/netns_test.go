//go:build linux

package netns

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
)

// require skips a test that cannot build namespaces here, or fails it when
// the project's test command (which runs as root) asks for every tool.
func require(t *testing.T) {
	t.Helper()
	if err := Supported(); err != nil {
		if os.Getenv("WORKERMAN_REQUIRE_TOOLS") != "" {
			t.Fatalf("%v; the project's test command runs as root", err)
		}
		t.Skipf("%v: skipping", err)
	}
}

// TestNet builds two hosts, checks that a program run on one host (nc, via
// Command) and a socket opened in the other (Listen, from this process)
// reach each other over the bridge, that the calling process's own
// namespace has no route to them, and that Close removes the namespaces.
func TestNet(t *testing.T) {
	require(t)
	n, err := New("10.77.9", "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	a, b := n.Host("a"), n.Host("b")
	if a.IP != "10.77.9.1" || b.IP != "10.77.9.2" {
		t.Fatalf("addresses %s %s", a.IP, b.IP)
	}

	l, err := b.Listen("tcp", b.Addr(0))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Write([]byte("pong from " + c.RemoteAddr().String() + "\n"))
		got <- line
	}()
	c, err := a.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ping\n"))
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(reply, "pong from 10.77.9.1:") {
		t.Fatalf("reply %q, %v", reply, err)
	}
	if line := <-got; line != "ping\n" {
		t.Fatalf("server read %q", line)
	}

	// A program on a host sees only the host's interfaces.
	out, err := a.Command("ip", "-o", "-4", "addr", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip addr in %s: %v\n%s", a.NS, err, out)
	}
	if !strings.Contains(string(out), "eth0    inet 10.77.9.1/24") || strings.Count(string(out), "\n") != 2 {
		t.Fatalf("addresses on host a:\n%s", out)
	}

	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{a.NS, b.NS, n.sw} {
		if _, err := os.Stat(runDir + "/" + ns); err == nil {
			t.Errorf("namespace %s still exists after Close", ns)
		}
	}
}

// TestSweep checks that Sweep removes the namespaces named for a process
// that is gone, and keeps those of running ones.
func TestSweep(t *testing.T) {
	require(t)
	// PID 0x7ffffffe is never running (above pid_max's ceiling).
	dead := Prefix + "-2147483646-abcdef-x"
	if err := ipCmd("netns", "add", dead); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeAll([]string{dead}) })
	n, err := New("10.77.8", "live")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if err := Sweep(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(runDir + "/" + dead); err == nil {
		t.Errorf("Sweep left %s", dead)
	}
	if _, err := os.Stat(runDir + "/" + n.Hosts[0].NS); err != nil {
		t.Errorf("Sweep removed a live network's namespace: %v", err)
	}
}
