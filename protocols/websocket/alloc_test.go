//go:build linux

package websocket_test

import (
	"bytes"
	"net/netip"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/protocols/websocket"
)

// TestMessagesAllocateNothing: echoing a binary message allocates nothing
// per message once a connection has carried its first one, through
// OnMessage(c, data any) and through the typed websocket.OnMessage
// handler; a text message costs one allocation, the copy that lets its
// string outlive the callback. The client is plain system calls on a
// blocking socket, so every allocation counted is the server's.
func TestMessagesAllocateNothing(t *testing.T) {
	bin := []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	for _, tc := range []struct {
		name      string
		typ       websocket.Opcode
		onMessage func(c *workerman.Connection, data any)
		maxAllocs float64
	}{
		{"binary", websocket.OpBinary, func(c *workerman.Connection, data any) { c.Send(data) }, 0},
		{"typed", websocket.OpBinary, func() func(*workerman.Connection, any) {
			out := make([]byte, len(bin))
			var reply any = websocket.Binary(out) // boxed once
			return websocket.OnMessage(func(c *workerman.Connection, m websocket.Message) {
				if m.IsText() || len(m.Data) != len(out) {
					c.Close()
					return
				}
				copy(out, m.Data)
				c.Send(reply)
			})
		}(), 0},
		{"text", websocket.OpText, func(c *workerman.Connection, data any) { c.Send(data) }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := workerman.NewWorker("websocket://127.0.0.1:0")
			w.Protocol = &websocket.Server{Type: tc.typ}
			w.OnMessage = tc.onMessage
			fd := rawWebSocket(t, serve(t, w))
			frame := maskedFrame(tc.typ, bin)
			want := append([]byte{0x80 | byte(tc.typ), byte(len(bin))}, bin...)
			got := make([]byte, len(want))
			echo := func() {
				if _, err := unix.Write(fd, frame); err != nil {
					t.Fatal(err)
				}
				readFull(t, fd, got)
			}
			for range 100 {
				echo() // the connection's first messages, and the runtime's warm-up
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("echo %q, want %q", got, want)
			}
			if n := testing.AllocsPerRun(2000, echo); n > tc.maxAllocs {
				t.Errorf("%v allocations per message, want %v", n, tc.maxAllocs)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("echo %q, want %q", got, want)
			}
		})
	}
}

// rawWebSocket opens a blocking TCP socket to addr and completes a
// WebSocket handshake on it.
func rawWebSocket(t *testing.T, addr string) int {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 10})
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		t.Fatal(err)
	}
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := unix.Write(fd, []byte(req)); err != nil {
		t.Fatal(err)
	}
	// Read the answer a byte at a time so that nothing after it is taken.
	var resp []byte
	for !bytes.HasSuffix(resp, []byte("\r\n\r\n")) {
		b := make([]byte, 1)
		readFull(t, fd, b)
		resp = append(resp, b[0])
	}
	if !bytes.HasPrefix(resp, []byte("HTTP/1.1 101 ")) {
		t.Fatalf("handshake answer %q", resp)
	}
	return fd
}

// maskedFrame is a final client frame (payload under 126 bytes).
func maskedFrame(op websocket.Opcode, payload []byte) []byte {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b := append([]byte{0x80 | byte(op), 0x80 | byte(len(payload))}, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}

// writeFull writes all of b: a blocking write interrupted by a signal
// (the Go runtime preempts with SIGURG) returns what it wrote so far.
func writeFull(t *testing.T, fd int, b []byte) {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("write: %v with %d bytes left", err, len(b))
		}
		b = b[n:]
	}
}

func readFull(t *testing.T, fd int, b []byte) {
	for got := 0; got < len(b); {
		n, err := unix.Read(fd, b[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			t.Fatalf("read: %d %v after %d of %d bytes", n, err, got, len(b))
		}
		got += n
	}
}

// TestLargeMessagesReuseBuffers: echoing 8 MiB messages that arrive in
// 32 KiB fragments allocates next to nothing once the first one has been
// echoed: the next are assembled in the buffer the first left behind, and
// their echo is built in, and queued from, the connection's lent send
// buffer, which the kernel cannot take at once. Every byte comes back.
func TestLargeMessagesReuseBuffers(t *testing.T) {
	const size, frag = 8 << 20, 32 << 10
	w := workerman.NewWorker("websocket://127.0.0.1:0")
	w.Protocol = &websocket.Server{Type: websocket.OpBinary}
	w.OnConnect = func(c *workerman.Connection) { c.MaxPackageSize = 2 * size }
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(data) }
	fd := rawWebSocket(t, serve(t, w))
	// The client's buffers are made before anything is counted.
	msg := make([]byte, size)
	var frames []byte
	for off := 0; off < size; off += frag {
		op := websocket.OpContinuation
		if off == 0 {
			op = websocket.OpBinary
		}
		frames = append(frames, maskedLongFrame(op, off+frag == size, msg[off:off+frag])...)
	}
	got := make([]byte, 10+size)
	echo := func(x byte) {
		// The same frames with every payload byte x: the mask is the
		// same for every frame, and a frame's payload is a multiple of 4.
		for off := 0; off < len(frames); off += 8 + frag {
			for i := off + 8; i < off+8+frag; i++ {
				frames[i] = x ^ frames[off+4+(i-off-8)&3]
			}
		}
		writeFull(t, fd, frames)
		readFull(t, fd, got)
		if !bytes.Equal(got[:10], []byte{0x82, 127, 0, 0, 0, 0, 0, size >> 16, 0, 0}) {
			t.Fatalf("echo of message %q has header % x", x, got[:10])
		}
		for i, b := range got[10:] {
			if b != x {
				t.Fatalf("byte %d of the echo of message %q is %q", i, x, b)
			}
		}
	}
	echo('a')
	for _, x := range []byte("bcd") {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		echo(x)
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > size/16 {
			t.Errorf("message %q: %d bytes allocated, want the buffers of the first message reused", x, n)
		}
	}
}

// maskedLongFrame is a client frame with a 16-bit length.
func maskedLongFrame(op websocket.Opcode, fin bool, payload []byte) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b := append([]byte{b0, 0x80 | 126, byte(len(payload) >> 8), byte(len(payload))}, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}
