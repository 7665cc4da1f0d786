package main

import (
	"bytes"
	"net"
	"testing"

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
	loadgen.CheckEcho(t, listen(t), bytes.Repeat([]byte("net"), 10000))
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
