package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman/internal/wmtest"
)

// TestMain lets the test binary play the processes of a row, as the
// command does: the driver starts os.Args[0] again with a role.
func TestMain(m *testing.M) {
	self = os.Args[0]
	if len(os.Args) == 3 {
		if os.Args[1] == "recv-feeder" {
			recvFeeder()
			os.Exit(0)
		}
		if runRole(os.Args[1], os.Args[2]) {
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

// smoke is a run of a few hundred milliseconds per row and implementation.
func smoke() *options {
	return &options{
		rounds: 1, warmup: 300 * time.Millisecond, duration: 300 * time.Millisecond, size: 64,
		pubsubProcs: 2, window: 8, publishers: 2,
		conns: 50, wsProcs: 2, fanWarmup: 1, publishes: 5,
		incrProcs: 2, callers: 2,
	}
}

func runSmoke(t *testing.T, o *options, row string) string {
	t.Helper()
	wmtest.RequireTool(t, "redis-server")
	o.rows = []string{row}
	var out, log bytes.Buffer
	err := bench(o, &out, &log)
	t.Logf("progress:\n%s", log.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	report := out.String()
	for _, want := range []string{"### " + row, "| 1 | ours |", "| 1 | redis |", "(higher is better)"} {
		if !strings.Contains(report, want) {
			t.Fatalf("the report lacks %q:\n%s", want, report)
		}
	}
	return report
}

func TestSmokePubSub(t *testing.T) {
	runSmoke(t, smoke(), "pubsub")
}

func TestSmokePubSubPaced(t *testing.T) {
	o := smoke()
	o.pubsubRate = 2000
	runSmoke(t, o, "paced")
}

func TestSmokeFanout(t *testing.T) {
	report := runSmoke(t, smoke(), "fanout")
	if !strings.Contains(report, "50 WebSocket connections over 2 server processes") {
		t.Fatalf("title:\n%s", report)
	}
}

func TestSmokeIncr(t *testing.T) {
	runSmoke(t, smoke(), "incr")
}

func TestSmokeIncrCallback(t *testing.T) {
	o := smoke()
	o.incrCallback = true
	runSmoke(t, o, "incr")
}

func TestHist(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.record(int64(i) * int64(time.Microsecond))
	}
	js, err := h.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var g hist
	if err := g.UnmarshalJSON(js); err != nil {
		t.Fatal(err)
	}
	g.merge(&h)
	if g.n != 2000 {
		t.Fatalf("count %d", g.n)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, time.Millisecond}} {
		got := g.quantile(c.q)
		if d := float64(got-c.want) / float64(c.want); d < -0.02 || d > 0.02 {
			t.Errorf("quantile(%v) = %v, want %v ± 2%%", c.q, got, c.want)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	stat := []byte("1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 1 0 100 0 0")
	d, err := parseStatCPU(stat)
	if err != nil || d != 2800*time.Millisecond {
		t.Fatalf("%v %v", d, err)
	}
	if pp := parentPID(stat); pp != 1 {
		t.Fatalf("parent %d", pp)
	}
}

func TestMedianAndRound(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Fatal(m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Fatal(m)
	}
	if d := round3(1234567 * time.Nanosecond); d != 1230*time.Microsecond {
		t.Fatal(d)
	}
}
