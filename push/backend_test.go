package push_test

import (
	"testing"

	"github.com/workerman-go/workerman/internal/testserver"
)

func TestPushAcrossHubsNATS(t *testing.T) {
	testPushAcrossHubs(t, testserver.StartNATS(t).URL)
}

// TestPushAcrossHubsNATSCluster puts the nodes and the sender on different
// members of a three-node cluster, as on three hosts.
func TestPushAcrossHubsNATSCluster(t *testing.T) {
	testPushAcrossHubs(t, testserver.StartNATSCluster(t, 3).URLs())
}

func TestPushAcrossHubsRedis(t *testing.T) {
	testPushAcrossHubs(t, "redis://"+testserver.StartRedis(t).Addr)
}
