package loadgen

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// BenchmarkRoundTrips is the body of an in-process echo micro-benchmark:
// it makes b.N round trips of a payload-byte message on one connection to
// the echo server at addr, checking each echo. Run the server in the same
// process and call b.ReportAllocs: allocs/op is then the allocations of
// the server's path per message, as a blocking net.Conn client allocates
// nothing per round trip.
func BenchmarkRoundTrips(b *testing.B, addr string, payload int) {
	b.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := bytes.Repeat([]byte{'e'}, payload)
	got := make([]byte, payload)
	b.SetBytes(int64(payload))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		msg[0] = byte(i)
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, got); err != nil {
			b.Fatal(err)
		}
		if got[0] != msg[0] {
			b.Fatalf("echo %q, want %q", got[0], msg[0])
		}
	}
}

// CheckEcho connects to the echo server at addr and checks that each of
// the given messages comes back byte for byte, sending each while reading
// its echo (so messages larger than the socket buffers work).
func CheckEcho(t testing.TB, addr string, msgs ...[]byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	for _, msg := range msgs {
		go c.Write(msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("%d bytes: %v", len(msg), err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("%d bytes: echo differs", len(msg))
		}
	}
}
