package globaldata_test

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman/globaldata"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// serve starts a GlobalData server on a free loopback port inside the test
// process and returns its address.
func serve(t *testing.T) string {
	t.Helper()
	return wmtest.Serve(t, globaldata.NewServer("127.0.0.1:0").Worker)
}

func dial(t *testing.T, addrs []string, opts *globaldata.Options) *globaldata.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := globaldata.Dial(ctx, addrs, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func check(t *testing.T, what string, got, want any) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestOperations(t *testing.T) { testOperations(t, serve(t), 1<<20) }

// testOperations covers every operation on the backend at addr, with
// values up to big bytes.
func testOperations(t *testing.T, addr string, big int) {
	g := dial(t, []string{addr}, nil)
	x := ctx(t)

	// Not set yet.
	set, err := g.IssetContext(x, "somedata")
	noErr(t, err)
	check(t, "isset before set", set, false)
	v, err := g.GetContext(x, "somedata")
	noErr(t, err)
	check(t, "exists", v.Exists(), false)
	var list []int
	if err := v.Decode(&list); !errors.Is(err, globaldata.ErrNotFound) {
		t.Fatalf("Decode of a key not set: %v", err)
	}

	// The manual's $global->somedata = array(1,2,3).
	noErr(t, g.SetContext(x, "somedata", []int{1, 2, 3}))
	set, err = g.IssetContext(x, "somedata")
	noErr(t, err)
	check(t, "isset after set", set, true)
	v, err = g.GetContext(x, "somedata")
	noErr(t, err)
	noErr(t, v.Decode(&list))
	check(t, "decoded", list, []int{1, 2, 3})
	check(t, "JSON", v.String(), "[1,2,3]")

	// Unset.
	noErr(t, g.UnsetContext(x, "somedata"))
	set, err = g.IssetContext(x, "somedata")
	noErr(t, err)
	check(t, "isset after unset", set, false)
	noErr(t, g.UnsetContext(x, "somedata")) // not set: no error

	// Add only when not set.
	added, err := g.AddContext(x, "abc", 10)
	noErr(t, err)
	check(t, "first add", added, true)
	added, err = g.AddContext(x, "abc", 99)
	noErr(t, err)
	check(t, "second add", added, false)

	// Increment: the manual's sequence add 10, increment 2, cas 12 → 18.
	n, ok, err := g.IncrementContext(x, "abc", 2)
	noErr(t, err)
	check(t, "increment", fmt.Sprint(n, ok), "12 true")
	swapped, err := g.CasContext(x, "abc", 11, 18)
	noErr(t, err)
	check(t, "cas with a wrong old value", swapped, false)
	swapped, err = g.CasContext(x, "abc", 12, 18)
	noErr(t, err)
	check(t, "cas", swapped, true)
	v, _ = g.GetContext(x, "abc")
	check(t, "after cas", v, 18)

	// Increment of a key not set does nothing; a value that is not a
	// number counts as 0; a fraction is truncated; the step may be
	// negative; overflow is refused.
	n, ok, err = g.IncrementContext(x, "nothing", 1)
	noErr(t, err)
	check(t, "increment of a key not set", fmt.Sprint(n, ok), "0 false")
	set, _ = g.IssetContext(x, "nothing")
	check(t, "isset after increment of a key not set", set, false)
	for _, tc := range []struct {
		stored any
		step   int64
		want   int64
	}{
		{"a string", 5, 5},
		{map[string]int{"a": 1}, 1, 1},
		{nil, 3, 3},
		{true, 1, 1},
		{2.7, 1, 3},
		{-2.7, -1, -3},
		{1e3, 1, 1001},
		{int64(1) << 40, -1, 1<<40 - 1},
	} {
		noErr(t, g.SetContext(x, "num", tc.stored))
		n, ok, err = g.IncrementContext(x, "num", tc.step)
		noErr(t, err)
		if !ok || n != tc.want {
			t.Errorf("increment %v by %d: %d %v, want %d", tc.stored, tc.step, n, ok, tc.want)
		}
		v, _ = g.GetContext(x, "num")
		check(t, "stored after increment", v, tc.want)
	}
	noErr(t, g.SetContext(x, "big", int64(1<<63-1)))
	if _, _, err = g.IncrementContext(x, "big", 1); err == nil || !strings.Contains(err.Error(), "overflow") {
		t.Fatalf("overflow: %v", err)
	}
	v, _ = g.GetContext(x, "big")
	check(t, "value after a refused increment", v, int64(1<<63-1))
	noErr(t, g.SetContext(x, "huge", 1e300))
	if _, _, err = g.IncrementContext(x, "huge", 1); err == nil {
		t.Fatal("increment of 1e300 succeeded")
	}

	// nil is a value: the key is set and holds null.
	noErr(t, g.SetContext(x, "null", nil))
	set, _ = g.IssetContext(x, "null")
	v, _ = g.GetContext(x, "null")
	check(t, "null set, exists, JSON", fmt.Sprint(set, v.Exists(), v), "true true null")

	// A value that cannot be encoded is the caller's error; nothing is sent.
	if err := g.SetContext(x, "bad", make(chan int)); err == nil {
		t.Fatal("a channel was encoded")
	}
	set, _ = g.IssetContext(x, "bad")
	check(t, "isset after a failed encode", set, false)

	// Keys may be anything, values as large as the server allows.
	noErr(t, g.SetContext(x, "", strings.Repeat("x", big)))
	noErr(t, g.SetContext(x, "ключ\x00\xff", "v"))
	v, _ = g.GetContext(x, "")
	var s string
	noErr(t, v.Decode(&s))
	check(t, "big value", len(s), big)
	v, _ = g.GetContext(x, "ключ\x00\xff")
	check(t, "odd key", v, `"v"`)
}

// TestCas covers the manual's compare-and-swap loop and how values compare.
func TestCas(t *testing.T) { testCas(t, serve(t)) }

func testCas(t *testing.T, addr string) {
	g := dial(t, []string{addr}, nil)
	x := ctx(t)

	// A key not set compares as null.
	swapped, err := g.CasContext(x, "user_list", nil, []int{1, 2, 3})
	noErr(t, err)
	check(t, "cas from not set", swapped, true)
	swapped, _ = g.CasContext(x, "user_list", nil, []int{9})
	check(t, "cas from null on a set key", swapped, false)

	// The manual's loop: read, change the copy, cas until nobody came in
	// between. Another client changes the list after the first read.
	for i := 0; ; i++ {
		v, err := g.GetContext(x, "user_list")
		noErr(t, err)
		var list []int
		noErr(t, v.Decode(&list))
		if i == 0 {
			noErr(t, g.SetContext(x, "user_list", append(list, 5)))
		}
		swapped, err := g.CasContext(x, "user_list", v, append(list, 4))
		noErr(t, err)
		if swapped {
			check(t, "attempts", i, 1)
			break
		}
	}
	v, _ := g.GetContext(x, "user_list")
	check(t, "list", v, "[1,2,3,5,4]")

	// Values compare by their JSON encoding, which encoding/json makes
	// canonical for maps: a map decoded and encoded again matches.
	noErr(t, g.SetContext(x, "m", map[string]any{"z": 1, "a": []any{"x", 2.5}, "m": map[string]int{"q": 1, "b": 2}}))
	v, _ = g.GetContext(x, "m")
	var m map[string]any
	noErr(t, v.Decode(&m))
	swapped, err = g.CasContext(x, "m", m, "replaced")
	noErr(t, err)
	check(t, "cas with the decoded map", swapped, true)

	// Struct fields keep their order, so a struct does not match the map
	// of the same fields; the doc says so.
	type pair struct{ B, A int }
	noErr(t, g.SetContext(x, "s", pair{1, 2}))
	swapped, _ = g.CasContext(x, "s", map[string]int{"A": 2, "B": 1}, 0)
	check(t, "cas struct vs map", swapped, false)
	swapped, _ = g.CasContext(x, "s", pair{1, 2}, 0)
	check(t, "cas struct vs struct", swapped, true)
}

// TestCallbacks uses the callback style on the loop, as a worker does.
func TestCallbacks(t *testing.T) { testCallbacks(t, serve(t)) }

func testCallbacks(t *testing.T, addr string) {
	var g *globaldata.Client
	wmtest.Do(func() {
		var err error
		g, err = globaldata.Connect([]string{addr}, nil)
		noErr(t, err)
	})
	t.Cleanup(g.Close)

	type event struct {
		name   string
		inCall bool
		args   string
	}
	events := make(chan event, 32)
	wmtest.Do(func() {
		inCall := true
		note := func(name string, args ...any) { events <- event{name, inCall, fmt.Sprint(args...)} }
		// Made before the connection is up: sent once it is.
		g.Set("k", map[string]int{"n": 1}, func(err error) { note("set", err) })
		g.Set("fire-and-forget", 1, nil)
		g.Get("k", func(v globaldata.Value, err error) { note("get", v, " ", err) })
		g.Isset("k", func(set bool, err error) { note("isset", set, " ", err) })
		g.Add("k", 2, func(added bool, err error) { note("add", added, " ", err) })
		g.Cas("k", map[string]int{"n": 1}, 7, func(swapped bool, err error) { note("cas", swapped, " ", err) })
		g.Increment("k", 3, func(n int64, ok bool, err error) { note("increment", n, " ", ok, " ", err) })
		g.Unset("k", func(err error) { note("unset", err) })
		g.Isset("k", func(set bool, err error) { note("isset", set, " ", err) })
		// Failures are reported through the callback too, never inside
		// the call.
		g.Set("bad", func() {}, func(err error) { note("set-bad", err != nil) })
		g.Cas("bad", 1, make(chan int), func(swapped bool, err error) { note("cas-bad", swapped, " ", err != nil) })
		inCall = false
	})
	want := map[string][]string{
		"set":       {"<nil>"},
		"get":       {`{"n":1} <nil>`},
		"isset":     {"true <nil>", "false <nil>"},
		"add":       {"false <nil>"},
		"cas":       {"true <nil>"},
		"increment": {"10 true <nil>"},
		"unset":     {"<nil>"},
		"set-bad":   {"true"},
		"cas-bad":   {"false true"},
	}
	for range 10 {
		select {
		case e := <-events:
			if e.inCall {
				t.Errorf("%s ran inside the call", e.name)
			}
			if len(want[e.name]) == 0 || want[e.name][0] != e.args {
				t.Errorf("%s: %q, want %q", e.name, e.args, want[e.name])
				continue
			}
			want[e.name] = want[e.name][1:]
		case <-time.After(10 * time.Second):
			t.Fatalf("callbacks missing: %v", want)
		}
	}
	v, err := g.GetContext(ctx(t), "fire-and-forget")
	noErr(t, err)
	check(t, "set without a callback", v, 1)
}

// TestSeveralServers spreads keys over two servers, as the manual's array
// of addresses does.
func TestSeveralServers(t *testing.T) {
	addrs := []string{serve(t), serve(t)}
	g := dial(t, addrs, nil)
	only := []*globaldata.Client{dial(t, addrs[:1], nil), dial(t, addrs[1:], nil)}
	x := ctx(t)
	const keys = 40
	for i := range keys {
		noErr(t, g.SetContext(x, fmt.Sprint("key", i), i))
	}
	held := []int{0, 0}
	for i := range keys {
		key := fmt.Sprint("key", i)
		want := int(crc32.ChecksumIEEE([]byte(key)) % 2)
		for s, c := range only {
			set, err := c.IssetContext(x, key)
			noErr(t, err)
			if set != (s == want) {
				t.Errorf("%s on server %d: %v; it belongs on server %d", key, s, set, want)
			}
			if set {
				held[s]++
			}
		}
		v, err := g.GetContext(x, key)
		noErr(t, err)
		check(t, key, v, i)
		n, ok, err := g.IncrementContext(x, key, 1)
		noErr(t, err)
		check(t, "increment "+key, fmt.Sprint(n, ok), fmt.Sprint(i+1, true))
	}
	if held[0] == 0 || held[1] == 0 || held[0]+held[1] != keys {
		t.Fatalf("keys per server: %v", held)
	}
	t.Logf("keys per server: %v", held)
}
