package globaldata_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman/globaldata"

	"github.com/workerman-go/workerman/internal/testserver"
)

// The tests in this file run the package's tests on a private nats-server
// with JetStream and on a private redis-server.

func natsAddr(t *testing.T) string  { return testserver.StartNATS(t).URL }
func redisAddr(t *testing.T) string { return "redis://" + testserver.StartRedis(t).Addr + "/0" }

func TestOperationsRedis(t *testing.T) { testOperations(t, redisAddr(t), 1<<20) }

// TestOperationsNATS runs with values under the server's max_payload (1
// MiB by default); a value over it is refused with an error that says so.
func TestOperationsNATS(t *testing.T) {
	addr := natsAddr(t)
	testOperations(t, addr, 512<<10)
	g := dial(t, []string{addr}, nil)
	err := g.SetContext(ctx(t), "too big", strings.Repeat("x", 2<<20))
	if err == nil || !strings.Contains(err.Error(), "max_payload") || errors.Is(err, globaldata.ErrOutcomeUnknown) {
		t.Fatalf("a 2 MiB value: %v", err)
	}
	if set, err := g.IssetContext(ctx(t), "too big"); err != nil || set {
		t.Fatalf("isset after a refused value: %v %v", set, err)
	}
}
func TestCasNATS(t *testing.T)        { testCas(t, natsAddr(t)) }
func TestCasRedis(t *testing.T)       { testCas(t, redisAddr(t)) }
func TestCallbacksNATS(t *testing.T)  { testCallbacks(t, natsAddr(t)) }
func TestCallbacksRedis(t *testing.T) { testCallbacks(t, redisAddr(t)) }

// Four programs race on Add, Increment and a Cas loop; nothing is lost and
// nothing counted twice.
func TestAtomicPlainProgramsNATS(t *testing.T)  { testAtomicPlainPrograms(t, natsAddr(t), 300) }
func TestAtomicPlainProgramsRedis(t *testing.T) { testAtomicPlainPrograms(t, redisAddr(t), 300) }

func TestUnreachableNATS(t *testing.T) {
	s := testserver.StartNATS(t)
	testUnreachable(t, s.URL, s.Kill, s.Start)
}

func TestUnreachableRedis(t *testing.T) {
	r := testserver.StartRedis(t)
	testUnreachable(t, "redis://"+r.Addr+"/0", r.Stop, r.Start)
}

// testUnreachable stops the service under a client: requests made while it
// is down wait, fail with ErrNotSent at their timeout and never take
// effect; requests made before it is back are performed once it is.
func testUnreachable(t *testing.T, addr string, stop, start func()) {
	g := dial(t, []string{addr}, &globaldata.Options{Timeout: 500 * time.Millisecond})
	g2 := dial(t, []string{addr}, &globaldata.Options{Timeout: 20 * time.Second})
	noErr(t, g.SetContext(ctx(t), "k", 1))
	stop()
	err0 := g.SetContext(ctx(t), "k", 2)
	if err := err0; !errors.Is(err, globaldata.ErrNotSent) && !errors.Is(err, globaldata.ErrOutcomeUnknown) {
		t.Fatalf("set while down: %v", err)
	}
	// The connection is known to be down now: nothing leaves the client.
	err := g.SetContext(ctx(t), "k", 3)
	if !errors.Is(err, globaldata.ErrNotSent) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("set while known down: %v", err)
	}
	if g.Connected() || g.Stats().Disconnects != 1 {
		t.Fatalf("Connected %v, stats %+v while the service is down", g.Connected(), g.Stats())
	}
	// A request made while down is performed once the service is back,
	// within its timeout.
	stop2 := make(chan error, 1)
	go func() { stop2 <- g2.SetContext(context.Background(), "later", "v") }()
	time.Sleep(300 * time.Millisecond)
	start()
	noErr(t, <-stop2)
	v, err := g2.GetContext(ctx(t), "later")
	noErr(t, err)
	check(t, "value set across the outage", v, `"v"`)
}

// TestNATSClusterNodeLost keeps the variables in a bucket replicated on a
// three-node cluster, kills one node, and checks that the values are
// still there and that writes go on once JetStream has moved on.
func TestNATSClusterNodeLost(t *testing.T) {
	cl := testserver.StartNATSCluster(t, 3)
	ctx30, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, err := globaldata.Dial(ctx30, []string{cl.URLs()}, nil)
	noErr(t, err)
	defer g.Close()
	// The cluster elects its JetStream leader after it formed: retry.
	for {
		if err := g.SetContext(ctx30, "k", 1); err == nil {
			break
		} else if ctx30.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	added, err := g.AddContext(ctx(t), "counter", 0)
	noErr(t, err)
	check(t, "added", added, true)
	cl.Nodes[0].Kill()
	start := time.Now()
	var n int64
	for {
		var ok bool
		n, ok, err = g.IncrementContext(ctx30, "counter", 1)
		if err == nil && ok {
			break
		}
		if ctx30.Err() != nil {
			t.Fatalf("no increment within 30s of the kill: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("first increment after the kill: %v later (n=%d)", time.Since(start), n)
	v, err := g.GetContext(ctx(t), "k")
	noErr(t, err)
	check(t, "value written before the kill", v, 1)
	if n < 1 {
		t.Fatalf("counter %d", n)
	}
}
