//go:build linux

package workerman_test

import (
	"runtime"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// TestLargeSendQueueIsReused: what the kernel does not take of a large
// send is queued in the process's spare send queue once one exists, so
// that after the first 16 MiB messages the next ones allocate next to
// nothing, on one connection and on another, and every byte arrives.
func TestLargeSendQueueIsReused(t *testing.T) {
	const size = 16 << 20
	big := make([]byte, size)
	var queued atomic.Int32
	w := workerman.NewWorker("tcp://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) {
		// Each byte received asks for a message of size bytes of it.
		for _, x := range data.([]byte) {
			for i := range big {
				big[i] = x
			}
			if c.Send(big) == workerman.SendQueued {
				queued.Add(1)
			}
		}
	}
	addr := wmtest.Serve(t, w)
	got := make([]byte, size)
	ask := func(fd int, x byte) {
		if _, err := unix.Write(fd, []byte{x}); err != nil {
			t.Fatal(err)
		}
		for n := 0; n < size; {
			m, err := unix.Read(fd, got[n:])
			if err == unix.EINTR {
				continue // a read with a timeout is not restarted after a signal
			}
			if err != nil || m == 0 {
				t.Fatalf("read: %d %v", m, err)
			}
			n += m
		}
		for i, b := range got {
			if b != x {
				t.Fatalf("byte %d of message %q is %q", i, x, b)
			}
		}
	}
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	fd1, fd2 := smallWindowDial(t, addr), smallWindowDial(t, addr)
	// The first large remainders allocate; the spare is then as large as
	// the largest of them. The kernel takes more of a send once a
	// connection's send buffer has grown to the traffic, so each
	// connection first carries two messages.
	for _, x := range []byte("abcd") {
		ask([]int{fd1, fd2}[x&1], x)
	}
	for _, tc := range []struct {
		fd int
		x  byte
	}{{fd1, 'e'}, {fd2, 'f'}, {fd1, 'g'}} {
		if n := allocated(func() { ask(tc.fd, tc.x) }); n > size/16 {
			t.Errorf("message %q: %d bytes allocated, want the spare queue reused", tc.x, n)
		}
	}
	if n := queued.Load(); n != 7 {
		t.Fatalf("%d of 7 sends were queued; the test needs the kernel to leave part of each", n)
	}
}

// smallWindowDial is rawDial with a 64 KiB receive buffer: the kernel then
// cannot take a send of megabytes at once however fast the client reads.
func smallWindowDial(t *testing.T, addr string) int { return rawDialRcvbuf(t, addr, 64<<10) }
