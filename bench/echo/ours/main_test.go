package main

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/bench/loadgen"
)

var startLoop sync.Once

// serve runs the process loop (once) and listens w on it.
func serve(t testing.TB, w *workerman.Worker) string {
	t.Helper()
	startLoop.Do(func() { go workerman.EventLoop().Run() })
	done := make(chan error, 1)
	var addr string
	workerman.Post(func() {
		err := w.Listen()
		if err == nil {
			addr = w.Addr().String()
		}
		done <- err
	})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the event loop did not run Listen")
	}
	t.Cleanup(func() {
		stopped := make(chan struct{})
		workerman.Post(func() { w.Stop(); close(stopped) })
		<-stopped
	})
	return addr
}

func TestEchoWorker(t *testing.T) {
	addr := serve(t, newEchoWorker("127.0.0.1:0"))
	var msgs [][]byte
	for _, size := range []int{1, 64, 4096, 200000} {
		msgs = append(msgs, bytes.Repeat([]byte{byte(size)}, size))
	}
	loadgen.CheckEcho(t, addr, msgs...)
}

// BenchmarkEcho measures one 64-byte round trip through the framework's
// echo worker; allocs/op are the server path's allocations per message.
func BenchmarkEcho(b *testing.B) {
	b.ReportAllocs()
	loadgen.BenchmarkRoundTrips(b, serve(b, newEchoWorker("127.0.0.1:0")), 64)
}

func BenchmarkEcho4K(b *testing.B) {
	b.ReportAllocs()
	loadgen.BenchmarkRoundTrips(b, serve(b, newEchoWorker("127.0.0.1:0")), 4096)
}
