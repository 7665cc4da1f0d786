//go:build linux

package workerman_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	"golang.org/x/sys/unix"
)

// The socket options are read back from the real sockets: those of this
// process, and, for the process-manager test, those of the master and
// worker processes, copied into this process with pidfd_getfd.

// procSocket returns a copy, in this process, of a socket of process pid
// for which match is true, or -1. The copy is closed when the test ends.
func procSocket(t *testing.T, pid int, match func(fd int) bool) int {
	t.Helper()
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open %d: %v", pid, err)
	}
	defer unix.Close(pidfd)
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil || !strings.HasPrefix(link, "socket:") {
			continue
		}
		target, _ := strconv.Atoi(e.Name())
		fd, err := unix.PidfdGetfd(pidfd, target, 0)
		if err != nil {
			if errors.Is(err, unix.EBADF) {
				continue // closed meanwhile
			}
			t.Fatalf("pidfd_getfd %d of %d: %v", target, pid, err)
		}
		if match(fd) {
			t.Cleanup(func() { unix.Close(fd) })
			return fd
		}
		unix.Close(fd)
	}
	return -1
}

func sockPort(sa unix.Sockaddr) int {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return a.Port
	case *unix.SockaddrInet6:
		return a.Port
	}
	return -1
}

// isListener matches the listening socket (or bound UDP socket) on port.
func isListener(port int, typ int) func(fd int) bool {
	return func(fd int) bool {
		if t, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); t != typ {
			return false
		}
		sa, err := unix.Getsockname(fd)
		if err != nil || sockPort(sa) != port {
			return false
		}
		if typ == unix.SOCK_DGRAM {
			return true
		}
		acc, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
		return acc == 1
	}
}

// isAccepted matches the server side of the connection whose client end
// is at local.
func isAccepted(local net.Addr) func(fd int) bool {
	want := local.(*net.TCPAddr).AddrPort()
	return func(fd int) bool {
		sa, err := unix.Getpeername(fd)
		if err != nil {
			return false
		}
		var ap netip.AddrPort
		switch a := sa.(type) {
		case *unix.SockaddrInet4:
			ap = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
		case *unix.SockaddrInet6:
			ap = netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port))
		default:
			return false
		}
		return ap == want
	}
}

func sockopt(t *testing.T, fd, level, opt int) int {
	t.Helper()
	v, err := unix.GetsockoptInt(fd, level, opt)
	if err != nil {
		t.Fatalf("getsockopt: %v", err)
	}
	return v
}

// serveOpts serves a worker for addr with the given options and returns
// its port and its listening socket.
func serveOpts(t *testing.T, addr string, set func(w *workerman.Worker)) (port, fd int) {
	t.Helper()
	w := workerman.NewWorker(addr)
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(data) }
	set(w)
	a := wmtest.Serve(t, w)
	_, ps, _ := net.SplitHostPort(a)
	port, _ = strconv.Atoi(ps)
	typ := unix.SOCK_STREAM
	if strings.HasPrefix(addr, "udp") {
		typ = unix.SOCK_DGRAM
	}
	fd = procSocket(t, os.Getpid(), isListener(port, typ))
	if fd < 0 {
		t.Fatalf("no listening socket on port %d", port)
	}
	return port, fd
}

func TestSocketOptionReuseAddr(t *testing.T) {
	_, fd := serveOpts(t, "tcp://127.0.0.1:0", func(w *workerman.Worker) {})
	if v := sockopt(t, fd, unix.SOL_SOCKET, unix.SO_REUSEADDR); v != 1 {
		t.Errorf("default SO_REUSEADDR = %d, want 1", v)
	}
	_, fd = serveOpts(t, "tcp://127.0.0.1:0", func(w *workerman.Worker) { w.Socket.NoReuseAddr = true })
	if v := sockopt(t, fd, unix.SOL_SOCKET, unix.SO_REUSEADDR); v != 0 {
		t.Errorf("NoReuseAddr: SO_REUSEADDR = %d, want 0", v)
	}
}

func TestSocketOptionNagle(t *testing.T) {
	for _, nagle := range []bool{false, true} {
		port, _ := serveOpts(t, "tcp://127.0.0.1:0", func(w *workerman.Worker) { w.Socket.Nagle = nagle })
		c := dial(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
		c.Write([]byte("x"))
		io_ReadFull(c, make([]byte, 1)) // accepted and served
		fd := procSocket(t, os.Getpid(), isAccepted(c.LocalAddr()))
		if fd < 0 {
			t.Fatal("accepted socket not found")
		}
		want := 1
		if nagle {
			want = 0
		}
		if v := sockopt(t, fd, unix.IPPROTO_TCP, unix.TCP_NODELAY); v != want {
			t.Errorf("Nagle %v: accepted connection's TCP_NODELAY = %d, want %d", nagle, v, want)
		}
	}
}

func TestSocketOptionBroadcast(t *testing.T) {
	for _, on := range []bool{false, true} {
		_, fd := serveOpts(t, "udp://127.0.0.1:0", func(w *workerman.Worker) { w.Socket.Broadcast = on })
		want := 0
		if on {
			want = 1
		}
		if v := sockopt(t, fd, unix.SOL_SOCKET, unix.SO_BROADCAST); v != want {
			t.Errorf("Broadcast %v: SO_BROADCAST = %d, want %d", on, v, want)
		}
		// Without it the kernel refuses a datagram to the limited
		// broadcast address.
		err := unix.Sendto(fd, []byte("x"), 0, &unix.SockaddrInet4{Port: 9, Addr: [4]byte{255, 255, 255, 255}})
		if !on && !errors.Is(err, unix.EACCES) {
			t.Errorf("broadcast without the option: %v, want EACCES", err)
		}
		if on && errors.Is(err, unix.EACCES) {
			t.Errorf("broadcast with the option: %v", err)
		}
	}
}

func TestSocketOptionIPv6Only(t *testing.T) {
	if _, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback on this machine: %v", err)
	}
	for _, only := range []bool{false, true} {
		port, fd := serveOpts(t, "tcp://[::]:0", func(w *workerman.Worker) { w.Socket.IPv6Only = only })
		want := 0
		if only {
			want = 1
		}
		if v := sockopt(t, fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); v != want {
			t.Errorf("IPv6Only %v: IPV6_V6ONLY = %d, want %d", only, v, want)
		}
		dial(t, "tcp6", fmt.Sprintf("[::1]:%d", port)).Close()
		c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
		if err == nil {
			c.Close()
		}
		if only != (err != nil) {
			t.Errorf("IPv6Only %v: IPv4 dial: %v", only, err)
		}
	}
}

func TestSocketOptionBindTo(t *testing.T) {
	w := workerman.NewWorker("text://0.0.0.0:0")
	w.Socket.BindTo = "127.0.0.2"
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(c.LocalIP()) }
	addr := wmtest.Serve(t, w)
	if !strings.HasPrefix(addr, "127.0.0.2:") {
		t.Fatalf("BindTo 127.0.0.2: listening on %s", addr)
	}
	c := dial(t, "tcp", addr)
	c.Write([]byte("x\n"))
	buf := make([]byte, 32)
	if n, _ := c.Read(buf); string(buf[:n]) != "127.0.0.2\n" {
		t.Fatalf("served on %q", buf[:n])
	}
	port := freePort(t)
	w2 := workerman.NewWorker("text://0.0.0.0:1")
	w2.Socket.BindTo = fmt.Sprintf("127.0.0.3:%d", port)
	if addr := wmtest.Serve(t, w2); addr != fmt.Sprintf("127.0.0.3:%d", port) {
		t.Fatalf("BindTo with a port: listening on %s", addr)
	}
	for _, bad := range []string{"example.com", "127.0.0.1:x", "127.0.0.1:70000"} {
		w := workerman.NewWorker("text://0.0.0.0:0")
		w.Socket.BindTo = bad
		var err error
		wmtest.Do(func() { err = w.Listen() })
		if err == nil || !strings.Contains(err.Error(), "BindTo") {
			if err == nil {
				wmtest.Do(w.Stop)
			}
			t.Errorf("BindTo %q: %v, want a clear error", bad, err)
		}
	}
}

// TestBacklog: the accept queue holds Backlog+1 connections while the
// worker does not accept; the kernel ignores further handshakes until it
// does. The default backlog takes many more.
func TestBacklog(t *testing.T) {
	for _, backlog := range []int{1, 0} {
		w := workerman.NewWorker("tcp://127.0.0.1:0")
		w.Backlog = backlog
		addr := wmtest.Serve(t, w)
		wmtest.Do(w.PauseAccept)
		queued := 2 // Backlog 1 queues two
		if backlog == 0 {
			queued = 20
		}
		for i := 0; i < queued; i++ {
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				t.Fatalf("backlog %d: connection %d: %v", backlog, i+1, err)
			}
			t.Cleanup(func() { c.Close() })
		}
		if backlog == 0 {
			continue
		}
		// The queue is full: the handshake is not answered.
		c, err := net.DialTimeout("tcp", addr, 1500*time.Millisecond)
		if err == nil {
			c.Close()
			t.Fatalf("backlog %d: connection %d was accepted into a full queue", backlog, queued+1)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("backlog %d: extra connection: %v, want a timeout", backlog, err)
		}
		// Accepting again empties the queue.
		wmtest.Do(func() { w.ResumeAccept() })
		c, err = net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatalf("after ResumeAccept: %v", err)
		}
		c.Close()
	}
}
