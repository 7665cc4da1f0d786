package channel_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workerman-go/workerman/channel"
	"github.com/workerman-go/workerman/internal/testserver"
)

// The tests in this file run private nats-servers (Debian's nats-server)
// and talk to them with clients made by Dial on the test process's loop.

func TestNATSPublishSubscribe(t *testing.T) {
	srv := testserver.StartNATS(t)
	testBrokerPublishSubscribe(t, srv.URL)
}

// testBrokerPublishSubscribe is the publish/subscribe contract on a broker
// address: kinds survive, the publisher's order holds, Unsubscribe stops
// delivery, names that are not subject tokens work.
func testBrokerPublishSubscribe(t *testing.T, addr string) {
	a, b := dial(t, addr, nil), dial(t, addr, nil)
	r := newRecorder()
	const odd = "news. with *spaces* > and dots/%"
	mustNil(t, a.On("news", r.fn("news")))
	mustNil(t, a.On(odd, r.fn("odd")))
	mustNil(t, a.On("", r.fn("empty")))
	waitCount(t, b, "news", 1)
	waitCount(t, b, odd, 1)
	waitCount(t, b, "", 1)
	for i := range 100 {
		mustNil(t, b.Publish("news", "n"+strconv.Itoa(i)))
	}
	for i := range 100 {
		r.expect(t, "news", "n"+strconv.Itoa(i))
	}
	mustNil(t, b.Publish(odd, []byte{0, 1, 2}))
	if e := r.next(t); e.name != "odd" || e.kind != channel.KindBytes || e.data != "\x00\x01\x02" {
		t.Fatalf("got %+v", e)
	}
	mustNil(t, b.Publish("", map[string]int{"a": 1}))
	if e := r.next(t); e.name != "empty" || e.kind != channel.KindJSON || e.data != `{"a":1}` {
		t.Fatalf("got %+v", e)
	}
	// Other names are not delivered: "news.x" is another subject.
	mustNil(t, b.Publish("news.x", "no"))
	mustNil(t, a.Unsubscribe("news"))
	waitCount(t, b, "news", 0)
	mustNil(t, b.Publish("news", "after"))
	mustNil(t, b.Publish(odd, "sentinel"))
	r.expect(t, "odd", "sentinel")
	r.none(t)
	if st := a.Stats(); st.Received != 103 {
		t.Fatalf("stats %+v", st)
	}
	if !a.Connected() {
		t.Fatal("not connected")
	}
}

func TestNATSQueue(t *testing.T) {
	srv := testserver.StartNATS(t)
	testBrokerQueue(t, srv.URL, true)
}

// testBrokerQueue checks that each item goes to exactly one watcher; with
// dropWithoutWatcher, an item enqueued while nobody watches is reported
// through OnError (NATS); otherwise it waits for a watcher (Redis).
func testBrokerQueue(t *testing.T, addr string, dropWithoutWatcher bool) {
	errs := make(chan error, 10)
	p := dial(t, addr, &channel.Options{OnError: func(err error) { errs <- err }})
	w1, w2 := dial(t, addr, nil), dial(t, addr, nil)
	mustNil(t, p.Enqueue("jobs", "early"))
	if dropWithoutWatcher {
		select {
		case err := <-errs:
			if !strings.Contains(err.Error(), "no watcher") {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no error for an item without watcher")
		}
	}
	var mu sync.Mutex
	got := map[string]int{}
	per := map[*channel.Client]int{}
	record := func(c *channel.Client) func(channel.Data) {
		return func(d channel.Data) {
			mu.Lock()
			got[d.String()]++
			per[c]++
			mu.Unlock()
		}
	}
	mustNil(t, w1.Watch("jobs", record(w1)))
	mustNil(t, w2.Watch("jobs", record(w2)))
	want := 200
	if !dropWithoutWatcher {
		want++ // "early" waited
	}
	// Give the watchers' subscriptions time to reach the server.
	time.Sleep(300 * time.Millisecond)
	for i := range 200 {
		mustNil(t, p.Enqueue("jobs", "j"+strconv.Itoa(i)))
	}
	waitFor(t, "all items", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == want
	})
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for k, n := range got {
		if n != 1 {
			t.Fatalf("item %s delivered %d times", k, n)
		}
	}
	if per[w1] == 0 || per[w2] == 0 {
		t.Fatalf("items not shared between watchers: %d and %d", per[w1], per[w2])
	}
}

func TestNATSCount(t *testing.T) {
	srv := testserver.StartNATS(t)
	testBrokerCount(t, srv.URL)
}

// testBrokerCount checks that Count adds up the members the subscribers
// announce, and follows Unsubscribe and Close.
func testBrokerCount(t *testing.T, addr string) {
	a, b, q := dial(t, addr, nil), dial(t, addr, nil), dial(t, addr, nil)
	if n := count(t, q, "room"); n != (channel.Count{}) {
		t.Fatalf("count with no subscriber: %+v", n)
	}
	mustNil(t, a.On("room", func(channel.Data) {}))
	mustNil(t, a.SetMembers("room", 3))
	mustNil(t, b.On("room", func(channel.Data) {}))
	mustNil(t, b.SetMembers("room", 4))
	if n := waitCount(t, q, "room", 2); n.Members != 7 {
		t.Fatalf("count %+v, want 7 members", n)
	}
	if err := q.SetMembers("room", 1); err == nil {
		t.Fatal("SetMembers without On succeeded")
	}
	mustNil(t, b.Unsubscribe("room"))
	if n := waitCount(t, q, "room", 1); n.Members != 3 {
		t.Fatalf("count %+v, want 3 members", n)
	}
	a.Close()
	waitCount(t, q, "room", 0)
}

func TestNATSQueueFullWhileDisconnected(t *testing.T) {
	srv := testserver.StartNATS(t)
	testBrokerOutage(t, srv.URL, srv.Kill, srv.Start)
}

// testBrokerOutage stops the broker under a publisher and a subscriber:
// both learn of it (OnDisconnect), publishes wait in the client's queue
// until ErrQueueFull, and once the broker is back the subscriber is
// subscribed again and receives what waited, in order.
func testBrokerOutage(t *testing.T, addr string, stop, start func()) {
	var downs, ups atomic.Int32
	opts := func() *channel.Options {
		return &channel.Options{
			MaxPending:   64 << 10,
			OnDisconnect: func(string) { downs.Add(1) },
			OnConnect:    func() { ups.Add(1) },
		}
	}
	sub := dial(t, addr, opts())
	pub := dial(t, addr, opts())
	r := newRecorder()
	mustNil(t, sub.On("ev", r.fn("ev")))
	waitCount(t, pub, "ev", 1)
	mustNil(t, pub.Publish("ev", "before"))
	r.expect(t, "ev", "before")
	stop()
	waitFor(t, "both clients to see the outage", func() bool { return downs.Load() == 2 })
	if pub.Connected() || sub.Connected() {
		t.Fatal("Connected while the broker is down")
	}
	sent := 0
	payload := strings.Repeat("x", 1000)
	for {
		err := pub.Publish("ev", fmt.Sprintf("%05d%s", sent, payload))
		if errors.Is(err, channel.ErrQueueFull) {
			break
		}
		mustNil(t, err)
		sent++
		if sent > 1000 {
			t.Fatal("the queue never filled")
		}
	}
	if sent < 50 || pub.Stats().Refused != 1 {
		t.Fatalf("queued %d, stats %+v", sent, pub.Stats())
	}
	upsBefore := ups.Load()
	start()
	waitFor(t, "both clients back", func() bool { return ups.Load() >= upsBefore+2 })
	// The publisher's queue may reach the broker before the subscriber's
	// subscription does; what reaches the subscriber is in order.
	waitCount(t, pub, "ev", 1)
	mustNil(t, pub.Publish("ev", "after"))
	last := -1
	for {
		e := r.next(t)
		if e.data == "after" {
			break
		}
		n, err := strconv.Atoi(e.data[:5])
		if err != nil || n <= last {
			t.Fatalf("event %q after %d: out of order", e.data[:5], last)
		}
		last = n
	}
	t.Logf("%d events queued during the outage, the subscriber got up to #%d", sent, last)
}

// TestNATSClusterFailover kills the node of a three-node cluster that a
// subscriber is connected to: the client must reconnect to another node
// (learnt from the cluster, it was given one URL), subscribe again and
// receive events again. The test measures the loss window: the time
// between the last event received before the kill and the first after.
func TestNATSClusterFailover(t *testing.T) {
	cl := testserver.StartNATSCluster(t, 3)
	var downs, ups atomic.Int32
	sub := dial(t, cl.Nodes[0].URL, &channel.Options{
		OnDisconnect: func(string) { downs.Add(1) },
		OnConnect:    func() { ups.Add(1) },
	})
	pub := dial(t, cl.Nodes[2].URL, nil)
	type got struct {
		n  int
		at time.Time
	}
	recv := make(chan got, 100000)
	mustNil(t, sub.On("tick", func(d channel.Data) {
		n, _ := strconv.Atoi(d.String())
		recv <- got{n, time.Now()}
	}))
	waitCount(t, pub, "tick", 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			pub.Publish("tick", strconv.Itoa(i))
			time.Sleep(2 * time.Millisecond)
		}
	}()
	defer wg.Wait()
	defer cancel()
	// Let events flow, then kill the subscriber's node.
	var last got
	for last.n < 50 {
		last = <-recv
	}
	cl.Nodes[0].Kill()
	killed := time.Now()
	// Drain what was received before the kill took effect.
	var before got
	var after got
	deadline := time.After(20 * time.Second)
	for after.at.IsZero() {
		select {
		case g := <-recv:
			if g.at.Before(killed) || downs.Load() == 0 {
				before = g
				continue
			}
			after = g
		case <-deadline:
			t.Fatalf("no event within 20s of the kill (disconnects %d, connects %d)", downs.Load(), ups.Load())
		}
	}
	if before.at.IsZero() {
		before = last
	}
	window := after.at.Sub(before.at)
	lost := after.n - before.n - 1
	t.Logf("loss window %v: %d events lost (published every 2ms), reconnected after %v", window, lost, after.at.Sub(killed))
	if downs.Load() != 1 || ups.Load() < 2 {
		t.Fatalf("disconnects %d, connects %d", downs.Load(), ups.Load())
	}
	// Events keep flowing in order on the new node.
	prev := after.n
	for range 20 {
		select {
		case g := <-recv:
			if g.n <= prev {
				t.Fatalf("event %d after %d", g.n, prev)
			}
			prev = g.n
		case <-time.After(10 * time.Second):
			t.Fatal("events stopped after the failover")
		}
	}
}
