package channel_test

import (
	"context"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/channel"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// serve starts a channel server on a free loopback port inside the test
// process and returns its address.
func serve(t *testing.T) string {
	t.Helper()
	s := channel.NewServer("127.0.0.1:0")
	return wmtest.Serve(t, s.Worker)
}

func dial(t *testing.T, addr string, opts *channel.Options) *channel.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := channel.Dial(ctx, addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestPublishSubscribe(t *testing.T) {
	addr := serve(t)
	a, b := dial(t, addr, nil), dial(t, addr, nil)
	got := make(chan any, 10)
	if err := a.On("news", func(d channel.Data) { got <- d.Value() }); err != nil {
		t.Fatal(err)
	}
	// The subscription travels before the publish on a's own link, but b's
	// publish may overtake it: wait for the server to count it.
	waitCount(t, b, "news", 1)
	for _, v := range []any{"text", []byte("bin"), map[string]any{"uid": 123.0}} {
		if err := b.Publish("news", v); err != nil {
			t.Fatal(err)
		}
		select {
		case x := <-got:
			t.Logf("%T %v", x, x)
		case <-time.After(5 * time.Second):
			t.Fatal("no event")
		}
	}
	_ = workerman.Version
}

func waitCount(t *testing.T, c *channel.Client, ev string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		cnt, err := c.CountContext(ctx, ev)
		cancel()
		if err == nil && cnt.Subscribers == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscribers of %q: %+v %v, want %d", ev, cnt, err, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
