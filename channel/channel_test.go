package channel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/workerman-go/workerman/channel"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// The tests in this file run a channel server inside the test process
// (wmtest.Serve) and talk to it with clients made by Dial; all of them run
// on the process's one event loop, as they would in a worker process.

// serve starts a channel server on a free loopback port inside the test
// process and returns its address.
func serve(t *testing.T) string {
	t.Helper()
	_, addr := serveWith(t, nil)
	return addr
}

// serveWith is serve with the server's fields set by tune before it
// listens; address "" means a free loopback port.
func serveWith(t *testing.T, tune func(*channel.Server)) (*channel.Server, string) {
	t.Helper()
	return serveAt(t, "127.0.0.1:0", tune)
}

func serveAt(t testing.TB, address string, tune func(*channel.Server)) (*channel.Server, string) {
	t.Helper()
	s := channel.NewServer(address)
	// These servers live through many tests' publishes: a subscriber must
	// not get the events of the first seconds again. The startup replay
	// has tests of its own.
	s.StartupReplay = -1
	if tune != nil {
		tune(s)
	}
	return s, wmtest.Serve(t, s.Worker)
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

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// event is one callback call, as a recorder keeps it.
type event struct {
	name string
	kind channel.Kind
	data string
}

// recorder collects what callbacks receive.
type recorder struct{ ch chan event }

func newRecorder() *recorder { return &recorder{ch: make(chan event, 10000)} }

// fn returns a callback recording under name.
func (r *recorder) fn(name string) func(channel.Data) {
	return func(d channel.Data) { r.ch <- event{name, d.Kind(), d.String()} }
}

// next waits for the next event.
func (r *recorder) next(t *testing.T) event {
	t.Helper()
	select {
	case e := <-r.ch:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
		return event{}
	}
}

// expect waits for the next event and checks its name and data.
func (r *recorder) expect(t *testing.T, name, data string) {
	t.Helper()
	if e := r.next(t); e.name != name || e.data != data {
		t.Fatalf("got %s %q, want %s %q", e.name, e.data, name, data)
	}
}

// none checks that nothing is waiting.
func (r *recorder) none(t *testing.T) {
	t.Helper()
	select {
	case e := <-r.ch:
		t.Fatalf("unexpected event %s %q", e.name, e.data)
	default:
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitCount waits until the server counts n subscribers of ev: the
// subscription of one client and the publish of another travel on
// different connections, so a test waits before it publishes.
func waitCount(t *testing.T, c *channel.Client, ev string, n int) channel.Count {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		cnt, err := c.CountContext(ctx, ev)
		cancel()
		if err == nil && cnt.Subscribers == n {
			return cnt
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscribers of %q: %+v %v, want %d", ev, cnt, err, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// count asks for ev's count.
func count(t *testing.T, c *channel.Client, ev string) channel.Count {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := c.CountContext(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPublishSubscribeUnsubscribe(t *testing.T) {
	addr := serve(t)
	a, b := dial(t, addr, nil), dial(t, addr, nil)
	r := newRecorder()
	mustNil(t, a.On("news", r.fn("news")))
	mustNil(t, a.On("sentinel", r.fn("sentinel")))
	waitCount(t, b, "news", 1)
	for i := 0; i < 3; i++ {
		mustNil(t, b.Publish("news", "n"+strconv.Itoa(i)))
	}
	for i := 0; i < 3; i++ {
		r.expect(t, "news", "n"+strconv.Itoa(i))
	}
	// The publisher receives its own event when it subscribes too.
	rb := newRecorder()
	mustNil(t, b.On("news", rb.fn("b")))
	mustNil(t, b.Publish("news", "both"))
	r.expect(t, "news", "both")
	rb.expect(t, "b", "both")
	// An event nobody subscribes to is dropped by the server.
	mustNil(t, b.Publish("nobody", "x"))

	mustNil(t, a.Unsubscribe("news"))
	mustNil(t, a.Unsubscribe("news")) // a second time is a no-op
	waitCount(t, b, "news", 1)        // only b is left
	mustNil(t, b.Publish("news", "after"))
	mustNil(t, b.Publish("sentinel", "end"))
	// The server relays b's frames in order: had "after" gone to a it
	// would have arrived before the sentinel.
	r.expect(t, "sentinel", "end")
	r.none(t)
	rb.expect(t, "b", "after")
	if st := a.Stats(); st.Received != 5 || st.Published != 0 {
		t.Errorf("a's stats %+v", st)
	}
	if st := b.Stats(); st.Published != 7 || st.Received != 2 || st.Refused != 0 {
		t.Errorf("b's stats %+v", st)
	}

	// Subscribing again works.
	mustNil(t, a.On("news", r.fn("again")))
	waitCount(t, b, "news", 2)
	mustNil(t, b.Publish("news", "back"))
	r.expect(t, "again", "back")
	rb.expect(t, "b", "back")
}

func TestOnReplacesCallback(t *testing.T) {
	addr := serve(t)
	a, b := dial(t, addr, nil), dial(t, addr, nil)
	r := newRecorder()
	mustNil(t, a.On("ev", r.fn("first")))
	mustNil(t, a.On("ev", r.fn("second")))
	waitCount(t, b, "ev", 1)
	mustNil(t, b.Publish("ev", "1"))
	r.expect(t, "second", "1")
	mustNil(t, a.On("ev", r.fn("third")))
	mustNil(t, b.Publish("ev", "2"))
	r.expect(t, "third", "2")
	r.none(t)
	// One subscription on the server, whatever the number of On calls.
	if n := waitCount(t, b, "ev", 1); n.Members != 0 {
		t.Errorf("count %+v", n)
	}
	if err := a.On("ev", nil); err == nil {
		t.Error("On with a nil callback succeeded")
	}
}

func TestDataKinds(t *testing.T) {
	addr := serve(t)
	a, b := dial(t, addr, nil), dial(t, addr, nil)
	type got struct {
		kind  channel.Kind
		bytes []byte
		value any
	}
	ch := make(chan got, 10)
	mustNil(t, a.On("d", func(d channel.Data) {
		ch <- got{d.Kind(), append([]byte(nil), d.Bytes()...), d.Value()}
	}))
	waitCount(t, b, "d", 1)
	receive := func() got {
		t.Helper()
		select {
		case g := <-ch:
			return g
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
			return got{}
		}
	}

	mustNil(t, b.Publish("d", []byte{0, 1, 2, 255}))
	if g := receive(); g.kind != channel.KindBytes || !bytes.Equal(g.bytes, []byte{0, 1, 2, 255}) || !bytes.Equal(g.value.([]byte), g.bytes) {
		t.Errorf("bytes: %+v", g)
	}
	mustNil(t, b.Publish("d", []byte{}))
	if g := receive(); g.kind != channel.KindBytes || len(g.bytes) != 0 {
		t.Errorf("empty bytes: %+v", g)
	}
	mustNil(t, b.Publish("d", "héllo"))
	if g := receive(); g.kind != channel.KindString || g.value != "héllo" {
		t.Errorf("string: %+v", g)
	}
	mustNil(t, b.Publish("d", map[string]any{"uid": 123, "uname": "tom"}))
	if g := receive(); g.kind != channel.KindJSON || fmt.Sprint(g.value) != "map[uid:123 uname:tom]" {
		t.Errorf("JSON: %+v", g)
	}
	mustNil(t, b.Publish("d", 42))
	if g := receive(); g.kind != channel.KindJSON || g.value != 42.0 || string(g.bytes) != "42" {
		t.Errorf("number: %+v", g)
	}
	mustNil(t, b.Publish("d", nil))
	if g := receive(); g.kind != channel.KindJSON || g.value != nil || string(g.bytes) != "null" {
		t.Errorf("nil: %+v", g)
	}
	// A json.RawMessage is sent as it is, spaces included.
	raw := json.RawMessage(`{"a": [1, 2],  "b":"x"}`)
	mustNil(t, b.Publish("d", raw))
	if g := receive(); g.kind != channel.KindJSON || string(g.bytes) != string(raw) {
		t.Errorf("raw JSON: %+v %q", g, g.bytes)
	}

	// Values that cannot be encoded are refused by Publish and Enqueue,
	// and nothing is sent.
	for _, v := range []any{make(chan int), func() {}, math.Inf(1), json.RawMessage(`{"a":`), map[bool]int{true: 1}} {
		if err := b.Publish("d", v); err == nil {
			t.Errorf("Publish(%T) succeeded", v)
		}
		if err := b.Enqueue("q", v); err == nil {
			t.Errorf("Enqueue(%T) succeeded", v)
		}
	}
	// The link is intact: the next event arrives, and is the next one.
	mustNil(t, b.Publish("d", "still"))
	if g := receive(); g.value != "still" {
		t.Errorf("after refusals: %+v", g)
	}
	if st := b.Stats(); st.Published != 8 {
		t.Errorf("refused encodings counted as published: %+v", st)
	}
}

func TestDataDecode(t *testing.T) {
	d, err := channel.NewData(map[string]any{"to_connection_id": 7, "content": "hi"})
	mustNil(t, err)
	var v struct {
		To      int    `json:"to_connection_id"`
		Content string `json:"content"`
	}
	if err := d.Decode(&v); err != nil || v.To != 7 || v.Content != "hi" {
		t.Errorf("decode: %+v %v", v, err)
	}
	s, _ := channel.NewData("text")
	var str string
	var bs []byte
	if s.Decode(&str) != nil || s.Decode(&bs) != nil || str != "text" || string(bs) != "text" {
		t.Errorf("string decode: %q %q", str, bs)
	}
	if err := s.Decode(&v); err == nil {
		t.Error("a string decoded into a struct")
	}
	if _, err := channel.NewData(make(chan int)); err == nil {
		t.Error("NewData(chan) succeeded")
	}
	for k, want := range map[channel.Kind]string{channel.KindBytes: "bytes", channel.KindString: "string", channel.KindJSON: "JSON", 9: "Kind(9)"} {
		if k.String() != want {
			t.Errorf("%d: %s", k, k)
		}
	}
}

func TestMembersAndCount(t *testing.T) {
	addr := serve(t)
	a, b, c := dial(t, addr, nil), dial(t, addr, nil), dial(t, addr, nil)
	if err := a.SetMembers("room", 3); err == nil {
		t.Error("SetMembers without a subscription succeeded")
	}
	mustNil(t, a.On("room", func(channel.Data) {}))
	if err := a.SetMembers("room", -1); err == nil {
		t.Error("negative SetMembers succeeded")
	}
	mustNil(t, a.SetMembers("room", 3))
	mustNil(t, b.On("room", func(channel.Data) {}))
	mustNil(t, b.SetMembers("room", 4))
	mustNil(t, b.SetMembers("room", 5)) // replaces 4
	waitFor(t, "8 members", func() bool {
		n, err := c.CountContext(context.Background(), "room")
		return err == nil && n == channel.Count{Subscribers: 2, Members: 8}
	})
	if n, err := c.CountContext(context.Background(), "empty"); err != nil || n != (channel.Count{}) {
		t.Errorf("count of an event nobody subscribes to: %+v %v", n, err)
	}
	// Count with a callback runs it on the loop.
	done := make(chan channel.Count, 1)
	c.Count("room", func(n channel.Count, err error) { done <- n })
	if n := <-done; n.Members != 8 {
		t.Errorf("Count: %+v", n)
	}
	mustNil(t, a.Unsubscribe("room"))
	if n := waitCount(t, c, "room", 1); n.Members != 5 {
		t.Errorf("after a's Unsubscribe: %+v", n)
	}
	b.Close()
	waitCount(t, c, "room", 0)
	if err := b.Publish("room", "x"); !errors.Is(err, channel.ErrClosed) {
		t.Errorf("Publish after Close: %v", err)
	}
	if err := b.On("x", func(channel.Data) {}); !errors.Is(err, channel.ErrClosed) {
		t.Errorf("On after Close: %v", err)
	}
	if _, err := b.CountContext(context.Background(), "room"); !errors.Is(err, channel.ErrClosed) {
		t.Errorf("Count after Close: %v", err)
	}
}

func TestUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ch.sock")
	_, got := serveAt(t, "unix://"+path, nil)
	if got != path {
		t.Fatalf("listening on %q", got)
	}
	a, b := dial(t, "unix://"+path, nil), dial(t, "unix://"+path, nil)
	r := newRecorder()
	mustNil(t, a.On("u", r.fn("u")))
	waitCount(t, b, "u", 1)
	mustNil(t, b.Publish("u", "over unix"))
	r.expect(t, "u", "over unix")
}

func TestBadAddress(t *testing.T) {
	for _, addr := range []string{"http://127.0.0.1:1", "udp://127.0.0.1:1"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := channel.Dial(ctx, addr, nil)
		cancel()
		if err == nil {
			t.Errorf("Dial(%q) succeeded", addr)
		}
	}
	// Dial gives up with ctx when nothing listens.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := channel.Dial(ctx, freeAddr(t), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial to nothing: %v", err)
	}
}

// TestConcurrentUse publishes from several goroutines at once (run with
// -race): every event arrives once, and each goroutine's events in order.
func TestConcurrentUse(t *testing.T) {
	addr := serve(t)
	a, b := dial(t, addr, nil), dial(t, addr, nil)
	const senders, each = 4, 200
	var mu sync.Mutex
	last := map[int]int{}
	total := 0
	done := make(chan struct{})
	mustNil(t, a.On("c", func(d channel.Data) {
		var v [2]int
		if err := d.Decode(&v); err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := last[v[0]]; ok && v[1] != prev+1 || !ok && v[1] != 0 {
			t.Errorf("sender %d: %d after %d", v[0], v[1], prev)
		}
		last[v[0]] = v[1]
		total++
		if total == senders*each {
			close(done)
		}
	}))
	waitCount(t, b, "c", 1)
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := b.Publish("c", [2]int{s, i}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("received %d of %d", total, senders*each)
	}
}

// TestTooLarge: a publish larger than MaxPackageSize is refused by the
// client, which stays connected; the server would have disconnected it.
func TestTooLarge(t *testing.T) {
	_, addr := serveWith(t, func(s *channel.Server) { s.MaxPackageSize = 1000 })
	a := dial(t, addr, &channel.Options{MaxPackageSize: 1000})
	r := newRecorder()
	mustNil(t, a.On("big", r.fn("big")))
	// 4 + 1 + 1+3 + 1 + 990 = 1000 bytes: the largest frame that passes.
	mustNil(t, a.Publish("big", strings.Repeat("x", 990)))
	r.expect(t, "big", strings.Repeat("x", 990))
	if err := a.Publish("big", strings.Repeat("x", 991)); err == nil || !strings.Contains(err.Error(), "MaxPackageSize") {
		t.Fatalf("Publish over MaxPackageSize: %v", err)
	}
	if err := a.Enqueue("big", strings.Repeat("x", 991)); err == nil {
		t.Fatal("Enqueue over MaxPackageSize succeeded")
	}
	mustNil(t, a.Publish("big", "small"))
	r.expect(t, "big", "small")
	if st := a.Stats(); st.Disconnects != 0 || st.Published != 2 {
		t.Errorf("stats %+v", st)
	}
	// Without the client's check, the server disconnects the client.
	b := dial(t, addr, nil)
	mustNil(t, b.Publish("big", strings.Repeat("x", 991)))
	waitFor(t, "the server to disconnect b", func() bool { return b.Stats().Disconnects == 1 })
}
