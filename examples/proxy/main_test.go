package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman/internal/wmtest"
)

// TestProxyCurlSlowReader downloads a large body through the proxy with
// curl limiting its own reading rate: the body must arrive whole and the
// proxy's memory must stay flat.
func TestProxyCurlSlowReader(t *testing.T) {
	curl := wmtest.RequireTool(t, "curl")
	const size = 24 << 20
	// The body is made as it is sent, so that the heap holds only what the
	// proxy keeps.
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = byte(i * 31 >> 3)
	}
	sum := sha256.New()
	for i := 0; i < size/len(chunk); i++ {
		chunk[0] = byte(i)
		sum.Write(chunk)
	}
	want := fmt.Sprintf("%x", sum.Sum(nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(size))
		buf := make([]byte, len(chunk))
		copy(buf, chunk)
		for i := 0; i < size/len(buf); i++ {
			buf[0] = byte(i)
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()

	addr := wmtest.Serve(t, newProxy("tcp://127.0.0.1:0", "tcp://"+ln.Addr().String()))

	base := liveHeap()
	peak := base
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				peak = max(peak, liveHeap())
			}
		}
	}()
	cmd := exec.Command(curl, "-sS", "--noproxy", "*", "--max-time", "60", "--limit-rate", "12M", "http://"+addr+"/big")
	cmd.Stderr = new(strings.Builder)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, _ := io.Copy(h, out)
	err = cmd.Wait()
	close(stop)
	<-done
	if err != nil {
		t.Fatalf("curl: %v %s", err, cmd.Stderr)
	}
	if n != size || fmt.Sprintf("%x", h.Sum(nil)) != want {
		t.Fatalf("got %d bytes (hash differs: %v), want %d", n, fmt.Sprintf("%x", h.Sum(nil)) != want, size)
	}
	growth := int64(peak) - int64(base)
	t.Logf("%d MiB in %v through the proxy; live heap grew by at most %d KiB", size>>20, time.Since(start).Round(time.Millisecond), growth>>10)
	// The proxy holds at most about one send buffer and a read chunk.
	if growth > 8<<20 {
		t.Errorf("heap grew by %d MiB while a slow client downloaded %d MiB", growth>>20, size>>20)
	}
}

// liveHeap returns the heap that survived the last collection.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestProxyUnreachableTarget closes the client when the target refuses.
func TestProxyUnreachableTarget(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	target := ln.Addr().String()
	ln.Close()
	addr := wmtest.Serve(t, newProxy("tcp://127.0.0.1:0", "tcp://"+target))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read %v, want EOF when the target is down", err)
	}
}
