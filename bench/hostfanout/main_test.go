package main

import (
	"context"
	"os"
	"testing"

	"github.com/workerman-go/workerman/internal/netns"
)

func TestParseSeq(t *testing.T) {
	for _, c := range []struct {
		in   string
		seq  uint64
		want bool
	}{
		{message(42, 64), 42, true},
		{`{"push":{"channel":"fan","pub":{"data":{"m":"` + message(7, 16) + `"}}}}`, 7, true},
		{"#:", 0, false},
		{"#12", 0, false},
		{"hello a 0", 0, false},
		{"#12x:", 0, false},
	} {
		seq, ok := parseSeq([]byte(c.in))
		if ok != c.want || seq != c.seq {
			t.Errorf("parseSeq(%q) = %d, %t; want %d, %t", c.in, seq, ok, c.seq, c.want)
		}
	}
	if m := message(3, 64); len(m) != 64 {
		t.Errorf("message is %d bytes, want 64", len(m))
	}
}

// TestRun runs the harness for a moment on the embedded backend: three
// hosts, 30 subscribers, 5 measured publishes; every publish must reach
// all subscribers and the figures must be positive.
func TestRun(t *testing.T) {
	if err := netns.Supported(); err != nil {
		if os.Getenv("WORKERMAN_REQUIRE_TOOLS") != "" {
			t.Fatalf("%v; the project's test command runs as root", err)
		}
		t.Skipf("skipping: %v (the benchmark runs as root)", err)
	}
	*conns, *publishes, *warmup = 30, 5, 1
	p, cleanup, err := buildPrograms([]string{"embedded"})
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	m, err := fanRun(context.Background(), p, "embedded")
	if err != nil {
		t.Fatal(err)
	}
	if m.rate <= 0 || m.p99 <= 0 || m.p50 > m.p99 {
		t.Fatalf("figures %+v", m)
	}
	t.Logf("%+v", m)
}
