package channel_test

import (
	"testing"

	"github.com/workerman-go/workerman/internal/testserver"
)

// The tests in this file run a private redis-server and talk to it with
// clients made by Dial on the test process's loop.

func redisURL(r *testserver.Redis) string { return "redis://" + r.Addr + "/0" }

func TestRedisPublishSubscribe(t *testing.T) {
	testBrokerPublishSubscribe(t, redisURL(testserver.StartRedis(t)))
}

func TestRedisQueue(t *testing.T) {
	testBrokerQueue(t, redisURL(testserver.StartRedis(t)), false)
}

func TestRedisCount(t *testing.T) {
	testBrokerCount(t, redisURL(testserver.StartRedis(t)))
}

// TestRedisRestart restarts Redis under a publisher and a subscriber: they
// reconnect and subscribe again, and the publishes made meanwhile arrive.
func TestRedisRestart(t *testing.T) {
	r := testserver.StartRedis(t)
	testBrokerOutage(t, redisURL(r), r.Stop, r.Start)
}
