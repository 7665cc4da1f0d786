//go:build linux

package workerman_test

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// TestRawMessagesAllocateNothing: echoing a message on the raw tcp and
// frame protocols allocates nothing per message once a connection has
// carried its first one, OnMessage(c, data any) included. The client side
// is plain system calls, so every allocation counted is the server's.
func TestRawMessagesAllocateNothing(t *testing.T) {
	for _, tc := range []struct {
		scheme string
		msg    []byte
	}{
		{"tcp", []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")},
		{"frame", append(binary.BigEndian.AppendUint32(nil, 4+60), []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab")...)},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			w := workerman.NewWorker(tc.scheme + "://127.0.0.1:0")
			w.OnMessage = func(c *workerman.Connection, data any) { c.Send(data) }
			addr := wmtest.Serve(t, w)
			fd := rawDial(t, addr)
			buf := make([]byte, len(tc.msg))
			echo := func() {
				if _, err := unix.Write(fd, tc.msg); err != nil {
					t.Fatal(err)
				}
				for got := 0; got < len(buf); {
					n, err := unix.Read(fd, buf[got:])
					if err == unix.EINTR { // the read has a timeout: not restarted
						continue
					}
					if err != nil || n == 0 {
						t.Fatalf("read: %d %v", n, err)
					}
					got += n
				}
			}
			for range 100 {
				echo() // the connection's first messages, and the runtime's warm-up
			}
			if string(buf) != string(tc.msg) {
				t.Fatalf("echo %q, want %q", buf, tc.msg)
			}
			if n := testing.AllocsPerRun(2000, echo); n != 0 {
				t.Errorf("%v allocations per message, want 0", n)
			}
		})
	}
}

// rawDial connects a blocking TCP socket to addr ("127.0.0.1:port").
func rawDial(t *testing.T, addr string) int { return rawDialRcvbuf(t, addr, 0) }

// rawDialRcvbuf is rawDial with a receive buffer of rcvbuf bytes (0: the
// default), set before connecting so that the window stays that small.
func rawDialRcvbuf(t *testing.T, addr string, rcvbuf int) int {
	t.Helper()
	ap := mustAddrPort(t, addr)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if rcvbuf > 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf); err != nil {
			t.Fatal(err)
		}
	}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 10})
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		t.Fatal(err)
	}
	return fd
}

func mustAddrPort(t *testing.T, addr string) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return ap
}
