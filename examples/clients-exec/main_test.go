package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

type client struct {
	net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{c, bufio.NewReaderSize(c, 4096)}
}

func (c *client) line(t *testing.T) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	s, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return strings.TrimSuffix(s, "\n")
}

func startedPid(t *testing.T, c *client) int {
	t.Helper()
	var pid int
	if l := c.line(t); func() bool { _, err := fmt.Sscanf(l, "started pid %d", &pid); return err != nil }() {
		t.Fatalf("want started pid, got %q", l)
	}
	return pid
}

// A long output read by a slow client arrives whole and in order, while the
// server's send buffer stays within its limit and nothing is dropped: the
// child is held back instead.
func TestStreamWithBackpressure(t *testing.T) {
	w := newServer("127.0.0.1:0")
	addr := wmtest.Serve(t, w)
	c := dial(t, addr)
	var failBefore int64
	wmtest.Do(func() { failBefore = workerman.ProcessStats().SendFail })
	const n = 1500000 // about 11 MB, more than the socket buffers and the send buffer
	c.Write([]byte(fmt.Sprintf("seq 1 %d\n", n)))
	startedPid(t, c)
	maxBuf := 0
	// The client reads nothing for a while: the kernel's buffers fill,
	// then the send buffer, and the child is held at that point.
	for i := 0; i < 20; i++ {
		time.Sleep(50 * time.Millisecond)
		wmtest.Do(func() {
			for _, sc := range w.Connections {
				maxBuf = max(maxBuf, sc.SendBufferLen())
			}
		})
	}
	if maxBuf == 0 {
		t.Fatal("the send buffer never filled: the output was not held back")
	}
	for i := 1; i <= n; i++ {
		if l := c.line(t); l != fmt.Sprint(i) {
			t.Fatalf("line %d: %q", i, l)
		}
		if i%200000 == 0 {
			time.Sleep(50 * time.Millisecond) // a slow reader
			wmtest.Do(func() {
				for _, sc := range w.Connections {
					maxBuf = max(maxBuf, sc.SendBufferLen())
				}
			})
		}
	}
	if l := c.line(t); l != "exit 0" {
		t.Fatalf("end: %q", l)
	}
	var failAfter int64
	wmtest.Do(func() { failAfter = workerman.ProcessStats().SendFail })
	if failAfter != failBefore {
		t.Fatalf("%d sends dropped", failAfter-failBefore)
	}
	if maxBuf > workerman.DefaultMaxSendBufferSize+chunk {
		t.Fatalf("send buffer reached %d", maxBuf)
	}
	t.Logf("send buffer peaked at %d KiB", maxBuf>>10)
	// The exit status is the child's, and the connection serves the next.
	c.Write([]byte("false\n"))
	startedPid(t, c)
	if l := c.line(t); l != "exit 1" {
		t.Fatalf("false: %q", l)
	}
	c.Write([]byte("rm -rf /\n"))
	if l := c.line(t); l != "error: not allowed" {
		t.Fatalf("rm: %q", l)
	}
}

func gone(pid int) bool {
	// Reaped by cmd.Wait: the pid no longer exists.
	return syscall.Kill(pid, 0) == syscall.ESRCH
}

// A client that disconnects takes its children with it: one blocked on a
// full pipe (yes) and one idle (sleep).
func TestChildKilledOnClose(t *testing.T) {
	addr := wmtest.Serve(t, newServer("127.0.0.1:0"))
	a, b := dial(t, addr), dial(t, addr)
	a.Write([]byte("yes\n"))
	b.Write([]byte("sleep 600\n"))
	pa, pb := startedPid(t, a), startedPid(t, b)
	for i := 0; i < 1000; i++ {
		if l := a.line(t); l != "y" {
			t.Fatalf("yes: %q", l)
		}
	}
	if gone(pa) || gone(pb) {
		t.Fatal("children ended early")
	}
	a.Close()
	b.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !gone(pa) || !gone(pb) {
		if time.Now().After(deadline) {
			t.Fatalf("children still there after their clients left: yes %v sleep %v", !gone(pa), !gone(pb))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
