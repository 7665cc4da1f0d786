package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/channel"
)

// The receive path of a channel client, alone in its process: a feeder
// process runs the channel server and a publisher; this process holds one
// subscribed client, so its allocations are those of reading frames and
// calling the event's callback.

const recvEvent = "recv"

// recvFeeder is the feeder process: it publishes as many messages as each
// line of stdin says.
func recvFeeder() {
	var size int
	if err := json.Unmarshal([]byte(os.Args[2]), &size); err != nil {
		fail(err)
	}
	s := channel.NewServer("127.0.0.1:0")
	workerman.StartLoop()
	errc := make(chan error, 1)
	workerman.Post(func() { errc <- s.Worker.Listen() })
	if err := <-errc; err != nil {
		fail(err)
	}
	addr := s.Worker.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := channel.Dial(ctx, addr, nil)
	if err != nil {
		fail(err)
	}
	payload := make([]byte, size)
	say("ready", addr)
	for line := range stdinLines() {
		n, err := strconv.Atoi(line)
		if err != nil {
			fail(err)
		}
		for range n {
			if err := pub.Publish(recvEvent, payload); err != nil {
				fail(err)
			}
		}
	}
}

type receiver struct {
	feeder *proc
	n      atomic.Int64
	target atomic.Int64
	done   chan struct{}
}

func startReceiver(tb testing.TB, size int) *receiver {
	tb.Helper()
	p, err := startProc("feeder", "recv-feeder", size)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.stop(0) })
	addr, err := p.expect("ready", 20*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := channel.Dial(ctx, addr, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	r := &receiver{feeder: p, done: make(chan struct{}, 1)}
	var bad atomic.Int64
	c.On(recvEvent, func(d channel.Data) {
		if len(d.Bytes()) != size {
			bad.Add(1)
		}
		if r.n.Add(1) == r.target.Load() {
			r.done <- struct{}{}
		}
	})
	if _, err := c.CountContext(ctx, recvEvent); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if n := bad.Load(); n > 0 {
			tb.Errorf("%d messages of the wrong size", n)
		}
	})
	return r
}

// receive has the feeder publish n messages, in chunks of 1,000, and waits
// until the client has received them.
func (r *receiver) receive(tb testing.TB, n int) {
	for n > 0 {
		k := min(1000, n)
		r.target.Store(r.n.Load() + int64(k))
		if err := r.feeder.send(strconv.Itoa(k)); err != nil {
			tb.Fatal(err)
		}
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			tb.Fatalf("received %d of %d", r.n.Load(), r.target.Load())
		}
		n -= k
	}
}

// BenchmarkReceive: allocs/op are the subscribing process's heap
// allocations per message received (one op is one message).
func BenchmarkReceive(b *testing.B) {
	for _, size := range []int{64, 4096} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			r := startReceiver(b, size)
			r.receive(b, 2000)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			r.receive(b, b.N)
		})
	}
}

// TestReceiveAllocs reports the allocations per received message.
func TestReceiveAllocs(t *testing.T) {
	r := startReceiver(t, 64)
	r.receive(t, 2000)
	const n = 20000
	m0 := mallocs()
	r.receive(t, n)
	t.Logf("channel client receive path: %.3f allocations per message (64 B, %d messages)", float64(mallocs()-m0)/n, n)
}
