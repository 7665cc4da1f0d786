package main

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/workerman-go/workerman/bench/loadgen"
)

func listen(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go serve(ln, 8192)
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func TestServeEchoes(t *testing.T) {
	c, err := net.DialTimeout("tcp", listen(t), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := bytes.Repeat([]byte("net"), 10000)
	go c.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("echo differs")
	}
}

// BenchmarkEcho is the net peer of the framework's BenchmarkEcho.
func BenchmarkEcho(b *testing.B) {
	b.ReportAllocs()
	loadgen.BenchmarkRoundTrips(b, listen(b), 64)
}

func BenchmarkEcho4K(b *testing.B) {
	b.ReportAllocs()
	loadgen.BenchmarkRoundTrips(b, listen(b), 4096)
}
