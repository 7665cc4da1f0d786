package globaldata_test

import (
	"errors"
	"strings"
	"testing"

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
