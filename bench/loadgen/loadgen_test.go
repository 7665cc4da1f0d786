package loadgen

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// echoServer serves TCP on loopback; handle runs for each connection.
func echoServer(t *testing.T, handle func(net.Conn)) (addr string, accepted *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = new(atomic.Int64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String(), accepted
}

func echo(c net.Conn) { io.Copy(c, c) }

func TestRunCountsEchoesAndCallsHooks(t *testing.T) {
	addr, accepted := echoServer(t, echo)
	var started, ended atomic.Bool
	res, err := Run(context.Background(), Config{
		Addr: addr, Conns: 8, Payload: 100, Depth: 3, Threads: 2,
		Warmup: 50 * time.Millisecond, Duration: 300 * time.Millisecond,
		OnStart: func() error {
			if ended.Load() {
				t.Error("OnEnd ran before OnStart")
			}
			started.Store(true)
			return nil
		},
		OnEnd: func() error { ended.Store(true); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !started.Load() || !ended.Load() {
		t.Fatalf("hooks: start %v end %v", started.Load(), ended.Load())
	}
	if got := accepted.Load(); got != 8 {
		t.Errorf("server accepted %d connections, want 8", got)
	}
	if res.Messages == 0 || res.Messages%3 != 0 {
		t.Errorf("messages %d: want a positive multiple of the depth 3", res.Messages)
	}
	if res.Bytes != res.Messages*100 {
		t.Errorf("bytes %d for %d messages of 100 B", res.Bytes, res.Messages)
	}
	if res.Latency.Count() != uint64(res.Messages/3) {
		t.Errorf("latency samples %d, want one per batch (%d)", res.Latency.Count(), res.Messages/3)
	}
	if res.Elapsed < 300*time.Millisecond {
		t.Errorf("elapsed %v shorter than the window", res.Elapsed)
	}
	if p50, p99 := res.Latency.Quantile(0.5), res.Latency.Quantile(0.99); p50 <= 0 || p99 < p50 || res.Latency.Max() < p99 {
		t.Errorf("latency p50 %v p99 %v max %v out of order", p50, p99, res.Latency.Max())
	}
	if r := res.Rate(); r <= 0 {
		t.Errorf("rate %v", r)
	}
}

func TestRunLargePayloadSurvivesPartialReadsAndWrites(t *testing.T) {
	// The server echoes in small pieces, so the generator sees partial
	// reads; 1 MiB batches exceed the socket buffers, so it also sees
	// partial writes.
	addr, _ := echoServer(t, func(c net.Conn) {
		buf := make([]byte, 1000)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	res, err := Run(context.Background(), Config{Addr: addr, Conns: 2, Payload: 1 << 20, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages == 0 {
		t.Fatal("no message echoed")
	}
}

func TestRunDetectsWrongEcho(t *testing.T) {
	addr, _ := echoServer(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		for i := 0; ; i++ {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if i == 5 {
				buf[0] ^= 0xff
			}
			c.Write(buf[:n])
		}
	})
	_, err := Run(context.Background(), Config{Addr: addr, Conns: 1, Payload: 64, Duration: 5 * time.Second})
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("err = %v, want ErrMismatch", err)
	}
}

func TestRunDetectsStaleEcho(t *testing.T) {
	// A server that always answers with the first batch it saw: the
	// sequence number stamped into each batch exposes it.
	addr, _ := echoServer(t, func(c net.Conn) {
		var first []byte
		buf := make([]byte, 64)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if first == nil {
				first = slices.Clone(buf)
			}
			c.Write(first)
		}
	})
	_, err := Run(context.Background(), Config{Addr: addr, Conns: 1, Payload: 64, Duration: 5 * time.Second})
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("err = %v, want ErrMismatch", err)
	}
}

func TestRunDetectsExtraBytes(t *testing.T) {
	addr, _ := echoServer(t, func(c net.Conn) {
		buf := make([]byte, 64)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			c.Write(append(buf, 'x'))
		}
	})
	_, err := Run(context.Background(), Config{Addr: addr, Conns: 1, Payload: 64, Depth: 1, Duration: 5 * time.Second})
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("err = %v, want ErrMismatch", err)
	}
}

func TestRunReportsServerClose(t *testing.T) {
	addr, _ := echoServer(t, func(c net.Conn) {
		buf := make([]byte, 64)
		io.ReadFull(c, buf)
	})
	_, err := Run(context.Background(), Config{Addr: addr, Conns: 3, Payload: 64, Duration: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("err = %v, want a closed-connection error", err)
	}
}

func TestRunDialFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Run(context.Background(), Config{Addr: addr, Conns: 1, Payload: 64, Duration: time.Second})
	if err == nil || !strings.Contains(err.Error(), "connection 1 of 1") {
		t.Fatalf("err = %v, want a connect error naming the connection", err)
	}
}

func TestRunCancel(t *testing.T) {
	addr, _ := echoServer(t, echo)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Run(ctx, Config{Addr: addr, Conns: 2, Payload: 64, Duration: time.Minute})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("cancel took %v", d)
	}
}

func TestRunHookErrorAborts(t *testing.T) {
	addr, _ := echoServer(t, echo)
	boom := errors.New("boom")
	_, err := Run(context.Background(), Config{Addr: addr, Conns: 1, Payload: 8, Duration: time.Minute,
		OnStart: func() error { return boom }})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the hook's error", err)
	}
}

func TestRunPaced(t *testing.T) {
	addr, _ := echoServer(t, echo)
	for _, depth := range []int{1, 4} {
		res, err := Run(context.Background(), Config{Addr: addr, Conns: 10, Payload: 64, Depth: depth, Rate: 4000,
			Warmup: 100 * time.Millisecond, Duration: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		// An unpaced run on loopback makes tens of thousands of round
		// trips per second; paced, it keeps to the rate.
		if r := res.Rate(); r < 3000 || r > 4400 {
			t.Errorf("depth %d: %.0f messages/s, want about 4000", depth, r)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{Conns: 1, Payload: 1, Duration: time.Second},
		{Addr: "127.0.0.1:1", Payload: 1, Duration: time.Second},
		{Addr: "127.0.0.1:1", Conns: 1, Duration: time.Second},
		{Addr: "127.0.0.1:1", Conns: 1, Payload: 1},
		{Addr: "127.0.0.1:1", Conns: 1, Payload: 1, Duration: time.Second, Depth: -1},
		{Addr: "127.0.0.1:1", Conns: 1, Payload: 1, Duration: time.Second, Warmup: -1},
		{Addr: "127.0.0.1:1", Conns: 1, Payload: 1, Duration: time.Second, Threads: -1},
		{Addr: "not an address", Conns: 1, Payload: 1, Duration: time.Second},
		{Addr: "127.0.0.1:1", Conns: 1, Payload: 1, Duration: time.Second, Rate: -1},
		{Addr: "127.0.0.1:1", Conns: 1, Payload: 1, Duration: time.Second, Rate: math.NaN()},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("Run(%+v) succeeded", c)
		}
	}
}

func TestOpenIdle(t *testing.T) {
	addr, accepted := echoServer(t, echo)
	idle, err := OpenIdle(context.Background(), addr, 50, 32, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if idle.Len() != 50 || accepted.Load() != 50 {
		t.Fatalf("open %d, accepted %d, want 50", idle.Len(), accepted.Load())
	}
	// Idle means idle: no batch after the first.
	for _, c := range idle.l.conns {
		if c.done != 1 || c.seq != 1 {
			t.Fatalf("connection made %d batches (seq %d), want exactly 1", c.done, c.seq)
		}
	}
}

func TestOpenIdleTimesOutOnSilentServer(t *testing.T) {
	addr, _ := echoServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	_, err := OpenIdle(context.Background(), addr, 3, 32, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no echo") {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	r := rand.New(rand.NewPCG(1, 2))
	var vals []int64
	for i := 0; i < 100000; i++ {
		// Log-uniform from 100 ns to 100 ms.
		v := int64(100 * math.Pow(10, r.Float64()*6))
		vals = append(vals, v)
		h.Record(time.Duration(v))
	}
	slices.Sort(vals)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := int64(h.Quantile(q))
		if diff := float64(got-exact) / float64(exact); diff > 1.0/64 || diff < -1.0/64 {
			t.Errorf("q%v = %d, exact %d (off by %.2f%%)", q, got, exact, diff*100)
		}
	}
	if h.Min() != time.Duration(vals[0]) || h.Max() != time.Duration(vals[len(vals)-1]) {
		t.Errorf("min/max %v %v, want %v %v", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
	}
	if h.Count() != uint64(len(vals)) {
		t.Errorf("count %d", h.Count())
	}
}

func TestHistogramBucketsAreContiguous(t *testing.T) {
	prevEnd := int64(0)
	for i := 0; i < numBuckets; i++ {
		lo, w := bucketBounds(i)
		if lo != prevEnd {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevEnd)
		}
		if bucketOf(lo) != i || bucketOf(lo+w-1) != i {
			t.Fatalf("bucket %d [%d,%d) maps back to %d/%d", i, lo, lo+w, bucketOf(lo), bucketOf(lo+w-1))
		}
		prevEnd = lo + w
		if prevEnd < 0 || w > 1<<58 {
			break
		}
	}
}

func TestHistogramMergeAndEdges(t *testing.T) {
	var a, b, empty Histogram
	if empty.Quantile(0.5) != 0 || empty.Mean() != 0 {
		t.Fatal("empty histogram reports values")
	}
	a.Record(-5)
	a.Record(10)
	b.Record(1000)
	b.Record(1 << 40)
	a.Merge(&b)
	a.Merge(&empty)
	if a.Count() != 4 || a.Min() != 0 || a.Max() != 1<<40 {
		t.Fatalf("merged count %d min %v max %v", a.Count(), a.Min(), a.Max())
	}
	if a.Quantile(0) != 0 || a.Quantile(1) != 1<<40 {
		t.Fatalf("q0 %v q1 %v", a.Quantile(0), a.Quantile(1))
	}
	if q := a.Quantile(0.75); q < 990 || q > 1010 {
		t.Fatalf("q0.75 = %v, want about 1000", q)
	}
	a.Reset()
	if a.Count() != 0 {
		t.Fatal("reset kept counts")
	}
}
