//go:build unix

package testserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/workerman-go/workerman/internal/wmtest"
)

// NATS is one private nats-server, alone or a member of a cluster.
type NATS struct {
	// URL is nats://127.0.0.1:port for a client.
	URL  string
	Port int
	p    *process
}

// NATSCluster is n nats-servers routed to each other on loopback.
type NATSCluster struct {
	Nodes []*NATS
}

// URLs returns the client URLs of every node, separated by commas.
func (c *NATSCluster) URLs() string {
	var u []string
	for _, n := range c.Nodes {
		u = append(u, n.URL)
	}
	return strings.Join(u, ",")
}

// StartNATS starts a nats-server with JetStream (its store in a temporary
// directory) and stops it when the test ends.
func StartNATS(t testing.TB) *NATS {
	t.Helper()
	return StartNATSCluster(t, 1).Nodes[0]
}

// StartNATSCluster starts n nats-servers with JetStream, routed into one
// cluster when n > 1, and stops them when the test ends. It returns once
// every node accepts clients; the routes (and JetStream's leader) may
// take a moment more.
func StartNATSCluster(t testing.TB, n int) *NATSCluster {
	t.Helper()
	bin := "/usr/sbin/nats-server"
	if _, err := os.Stat(bin); err != nil {
		bin = wmtest.RequireTool(t, "nats-server")
	}
	dir := t.TempDir()
	ports := make([]int, n)
	cports := make([]int, n)
	for i := range n {
		ports[i], cports[i] = FreePort(t), FreePort(t)
	}
	var routes []string
	for _, p := range cports {
		routes = append(routes, "nats://127.0.0.1:"+strconv.Itoa(p))
	}
	c := &NATSCluster{}
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		args := []string{"-a", "127.0.0.1", "-p", strconv.Itoa(ports[i]), "-n", name,
			"-js", "-sd", filepath.Join(dir, name)}
		if n > 1 {
			args = append(args, "--cluster_name", "wm", "--cluster", routes[i], "--routes", strings.Join(routes, ","))
		}
		node := &NATS{URL: "nats://127.0.0.1:" + strconv.Itoa(ports[i]), Port: ports[i],
			p: &process{t: t, bin: bin, args: args, logf: filepath.Join(dir, name+".log")}}
		node.p.start()
		t.Cleanup(node.p.stop)
		c.Nodes = append(c.Nodes, node)
	}
	for _, node := range c.Nodes {
		node.p.waitDial("tcp", "127.0.0.1:"+strconv.Itoa(node.Port))
	}
	return c
}

// Kill ends the server at once (SIGKILL), as a crash would.
func (s *NATS) Kill() {
	if s.p.cmd == nil {
		return
	}
	s.p.cmd.Process.Signal(syscall.SIGKILL)
	<-s.p.exited
	s.p.cmd = nil
}

// Start starts a stopped or killed server again on the same port and
// store.
func (s *NATS) Start() {
	s.p.t.Helper()
	s.p.start()
	s.p.waitDial("tcp", "127.0.0.1:"+strconv.Itoa(s.Port))
}

// Stop stops a Redis server; Start starts it again on the same port.
func (r *Redis) Stop() { r.p.stop() }

// Start starts a stopped Redis server again on the same port (empty: it
// keeps nothing on disk).
func (r *Redis) Start() {
	r.p.t.Helper()
	r.p.start()
	r.p.waitDial("tcp", r.Addr)
}
