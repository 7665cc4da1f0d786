package main

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/workerman-go/workerman/bench/loadgen"
)

func listen(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	errc := make(chan error, 1)
	h := testEcho{echo: &echo{addr: addr}, booted: make(chan gnet.Engine, 1)}
	go func() {
		errc <- gnet.Run(h, "tcp://"+addr, gnet.WithMulticore(false), gnet.WithLogger(quiet{}))
	}()
	select {
	case eng := <-h.booted:
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			eng.Stop(ctx)
			<-errc
		})
		return addr
	case err := <-errc:
		t.Fatalf("gnet: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("gnet did not boot")
	}
	return ""
}

// testEcho is the benchmark's handler that also hands over its engine,
// to stop it.
type testEcho struct {
	*echo
	booted chan gnet.Engine
}

func (t testEcho) OnBoot(e gnet.Engine) gnet.Action {
	t.booted <- e
	return gnet.None
}

func TestEchoes(t *testing.T) {
	loadgen.CheckEcho(t, listen(t), bytes.Repeat([]byte("gnet"), 10000))
}

// BenchmarkEcho is the gnet peer of the framework's BenchmarkEcho.
func BenchmarkEcho(b *testing.B) {
	b.ReportAllocs()
	loadgen.BenchmarkRoundTrips(b, listen(b), 64)
}

func BenchmarkEcho4K(b *testing.B) {
	b.ReportAllocs()
	loadgen.BenchmarkRoundTrips(b, listen(b), 4096)
}

// quiet drops gnet's log lines, which would interleave with benchmark
// output.
type quiet struct{}

func (quiet) Debugf(string, ...any) {}
func (quiet) Infof(string, ...any)  {}
func (quiet) Warnf(string, ...any)  {}
func (quiet) Errorf(string, ...any) {}
func (quiet) Fatalf(string, ...any) {}
