//go:build linux

package multihost

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/workerman-go/workerman/internal/netns"
	"github.com/workerman-go/workerman/internal/wmtest"
)

const (
	subnet = "10.77.0"
	wsPort = 8090
	// recoveryBound is how long a host may take to receive again after its
	// broker died or restarted.
	recoveryBound = 15 * time.Second
)

// requireNetns skips the test when namespaces cannot be made here (not
// root), and fails it instead under the project's test command.
func requireNetns(t *testing.T) {
	t.Helper()
	if err := netns.Supported(); err != nil {
		if os.Getenv("WORKERMAN_REQUIRE_TOOLS") != "" {
			t.Fatalf("%v; the project's test command runs as root", err)
		}
		t.Skipf("skipping: %v (the multi-host test runs as root)", err)
	}
}

// tool finds a program on PATH or in /usr/sbin (where Debian puts servers).
func tool(t *testing.T, name string) string {
	if p := "/usr/sbin/" + name; fileExists(p) {
		return p
	}
	return wmtest.RequireTool(t, name)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// bins are the programs built once for every backend.
type bins struct{ pushnode, channelServer, webchat string }

var (
	buildOnce sync.Once
	built     bins
	buildErr  error
	buildDir  string
)

// build builds the programs once for all the tests of the package.
func build(t *testing.T) bins {
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "multihost-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", buildDir+"/",
			"github.com/workerman-go/workerman/internal/multihost/pushnode",
			"github.com/workerman-go/workerman/cmd/channel-server",
			"github.com/workerman-go/workerman/examples/webchat")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
		built = bins{filepath.Join(buildDir, "pushnode"), filepath.Join(buildDir, "channel-server"), filepath.Join(buildDir, "webchat")}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// TestMultiHost runs the same checks on each backend: three hosts (a, b, c)
// each run pushnode with two processes; WebSocket clients on every host,
// two per host at least, one on each process.
func TestMultiHost(t *testing.T) {
	requireNetns(t)
	if err := netns.Sweep(); err != nil {
		t.Logf("sweeping namespaces left by earlier runs: %v", err)
	}
	b := build(t)
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			e := newEnv(ctx, t, b, be)
			e.checkUid()
			e.checkGroup("before")
			for i, o := range be.outages {
				e.checkOutage(o)
				e.checkGroup(fmt.Sprintf("after outage %d", i+1))
			}
		})
	}
}

// backend starts one channel backend on the network and says how to fail
// it.
type backend struct {
	name string
	// start starts the backend and returns the address for channel.Connect.
	start func(e *env) string
	// outages take down what host a's subscriber depends on, one after
	// the other, and bring the backend back if it does not survive by
	// itself; each returns what it did, for the log, and when the broker
	// was gone.
	outages []func(e *env) (string, time.Time)
}

type env struct {
	ctx   context.Context
	t     *testing.T
	bins  bins
	net   *netns.Net
	dir   string
	addr  string
	a, b  *netns.Host
	c, s  *netns.Host
	procs map[string]*proc
	mu    sync.Mutex

	clients []*wsClient // at least one per process of every host
	alice   *wsClient   // on host a, bound to uid "alice"
	sender  *wsClient   // on host c
}

// newEnv builds the network, starts the backend, starts pushnode on hosts
// a, b and c, and connects the clients.
func newEnv(ctx context.Context, t *testing.T, b bins, be backend) *env {
	e := newNet(ctx, t, b, be)
	for _, h := range []*netns.Host{e.a, e.b, e.c} {
		e.run(h, "pushnode-"+h.Name, nil, e.bins.pushnode, "-listen", h.Addr(wsPort), "-channel", e.addr,
			"-name", h.Name, "-count", "2", "-dir", e.dir, "start")
	}
	for _, h := range []*netns.Host{e.a, e.b, e.c} {
		e.waitPort(h, h.Addr(wsPort))
		e.connectBoth(h)
	}
	for _, c := range e.clients {
		switch {
		case e.alice == nil && c.host == "a":
			e.alice = c
		case e.sender == nil && c.host == "c":
			e.sender = c
		}
	}
	if _, err := e.alice.call("bind alice", "ok bind"); err != nil {
		t.Fatal(err)
	}
	for _, c := range e.clients {
		if _, err := c.call("join g", "ok join"); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, c := range e.clients {
			c.close()
		}
	})
	return e
}

// newNet builds the network (hosts a, b, c, and s for a backend that runs
// on one host) and starts the backend.
func newNet(ctx context.Context, t *testing.T, b bins, be backend) *env {
	n, err := netns.New(subnet, "a", "b", "c", "s")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("removing the network: %v", err)
		}
	})
	e := &env{ctx: ctx, t: t, bins: b, net: n, dir: t.TempDir(), procs: map[string]*proc{},
		a: n.Host("a"), b: n.Host("b"), c: n.Host("c"), s: n.Host("s")}
	t.Cleanup(func() {
		if t.Failed() {
			e.dumpLogs()
		}
	})
	e.addr = be.start(e)
	return e
}

// proc is a program started by run.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it has exited
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// run starts a program on a host, with env added to the environment and
// its output in a log file; the network's removal kills it.
func (e *env) run(h *netns.Host, name string, env []string, bin string, args ...string) {
	f, err := os.Create(filepath.Join(e.dir, name+".log"))
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := h.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		e.t.Fatalf("starting %s on %s: %v", name, h.Name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	e.mu.Lock()
	e.procs[name] = p
	e.mu.Unlock()
}

// proc returns the program that run started under that name.
func (e *env) proc(name string) *proc {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.procs[name]
	if p == nil {
		e.t.Fatalf("no process %s", name)
	}
	return p
}

// kill kills a program started by run and waits until it is gone.
func (e *env) kill(name string) {
	p := e.proc(name)
	p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		e.t.Fatalf("%s still running 10 s after SIGKILL", name)
	}
}

func (e *env) dumpLogs() {
	logs, _ := filepath.Glob(filepath.Join(e.dir, "*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		if len(b) > 3000 {
			b = b[len(b)-3000:]
		}
		e.t.Logf("--- %s (end)\n%s", filepath.Base(l), b)
	}
}

// waitPort waits until addr accepts connections from host h.
func (e *env) waitPort(h *netns.Host, addr string) {
	e.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(e.ctx, time.Second)
		c, err := h.DialContext(ctx, "tcp", addr)
		cancel()
		if err == nil {
			c.Close()
			return
		}
		if e.ctx.Err() != nil {
			e.t.Fatalf("%s does not accept connections: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// connectBoth opens WebSocket connections to host h until both of its
// processes hold one (the kernel spreads them over the processes'
// sockets), and keeps the first one of each.
func (e *env) connectBoth(h *netns.Host) {
	e.t.Helper()
	seen := map[string]bool{}
	for i := 0; len(seen) < 2; i++ {
		if i == 40 {
			e.t.Fatalf("40 connections to host %s all went to %v", h.Name, seen)
		}
		c, err := dialWS(e.ctx, h, h.Addr(wsPort), "hello ")
		if err != nil {
			e.t.Fatal(err)
		}
		if seen[c.hello] {
			c.close()
			continue
		}
		seen[c.hello] = true
		e.clients = append(e.clients, c)
	}
}

// drain discards what clients received until they are quiet.
func drain(cs ...*wsClient) {
	for {
		n := 0
		for _, c := range cs {
			for len(c.msgs) > 0 {
				<-c.msgs
				n++
			}
		}
		if n == 0 {
			time.Sleep(200 * time.Millisecond)
			for _, c := range cs {
				n += len(c.msgs)
			}
			if n == 0 {
				return
			}
		}
	}
}

// probe sends cmd and prefix-N (N growing) from sender every 100 ms until
// every one of to has received a message that contains prefix-, then drains
// everyone: subscriptions made asynchronously are in place after it.
func (e *env) probe(sender *wsClient, cmd, prefix string, to []*wsClient) {
	e.t.Helper()
	got := make([]bool, len(to))
	deadline := time.Now().Add(recoveryBound)
	for i := 0; ; i++ {
		if err := sender.send(strings.TrimSpace(fmt.Sprintf("%s %s-%d", cmd, prefix, i))); err != nil {
			e.t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		all := true
		for j, c := range to {
			for len(c.msgs) > 0 {
				if strings.Contains(<-c.msgs, prefix+"-") {
					got[j] = true
				}
			}
			all = all && got[j]
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%q from %s: not received within %v by %v", cmd, sender.host, recoveryBound, hosts(to, got))
		}
	}
	drain(append([]*wsClient{sender}, to...)...)
}

func hosts(cs []*wsClient, got []bool) []string {
	var s []string
	for i, c := range cs {
		if !got[i] {
			s = append(s, c.hello)
		}
	}
	return s
}

// natsNodes returns the NATS nodes (hosts) that host h's processes are
// connected to, from the nodes' monitoring endpoints.
func (e *env) natsNodes(h *netns.Host) []*netns.Host {
	var nodes []*netns.Host
	for _, n := range []*netns.Host{e.a, e.b, e.c} {
		var connz struct {
			Connections []struct {
				IP string `json:"ip"`
			} `json:"connections"`
		}
		if err := e.getJSON(n, "http://"+n.Addr(8222)+"/connz", &connz); err != nil {
			continue // a node that is down holds nobody
		}
		for _, c := range connz.Connections {
			if c.IP == h.IP {
				nodes = append(nodes, n)
				break
			}
		}
	}
	return nodes
}

// getJSON fetches a URL from inside the test's network.
func (e *env) getJSON(from *netns.Host, url string, v any) error {
	cl := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return from.DialContext(ctx, network, addr)
		},
	}}
	resp, err := cl.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

func backends() []backend {
	return []backend{
		{
			name: "embedded",
			start: func(e *env) string {
				e.startChannelServer()
				return e.s.Addr(2206)
			},
			outages: []func(*env) (string, time.Time){func(e *env) (string, time.Time) {
				e.kill("channel-server")
				down := time.Now()
				time.Sleep(500 * time.Millisecond)
				e.startChannelServer()
				return "channel server killed and restarted after 0.5 s", down
			}},
		},
		{
			name: "redis",
			start: func(e *env) string {
				e.startRedis()
				return "redis://" + e.s.Addr(6379)
			},
			outages: []func(*env) (string, time.Time){func(e *env) (string, time.Time) {
				e.kill("redis-server")
				down := time.Now()
				time.Sleep(500 * time.Millisecond)
				e.startRedis()
				return "redis-server killed and restarted after 0.5 s", down
			}},
		},
		{
			name: "nats",
			start: func(e *env) string {
				var urls []string
				for _, h := range []*netns.Host{e.a, e.b, e.c} {
					e.startNATS(h)
					urls = append(urls, "nats://"+h.Addr(4222))
				}
				e.waitNATSCluster()
				return strings.Join(urls, ",")
			},
			outages: []func(*env) (string, time.Time){
				// The node's process ends: host a's processes see their
				// connections close at once.
				func(e *env) (string, time.Time) {
					nodes := e.natsNodes(e.a)
					var names []string
					for _, n := range nodes {
						e.kill("nats-" + n.Name)
						names = append(names, n.Name)
					}
					return fmt.Sprintf("NATS node(s) %v that host a was connected to killed", names), time.Now()
				},
				// The node hangs (SIGSTOP): its connections stay open, and
				// only missed pings tell host a's processes.
				func(e *env) (string, time.Time) {
					for _, h := range []*netns.Host{e.a, e.b, e.c} {
						if !e.proc("nats-" + h.Name).alive() {
							e.startNATS(h)
						}
					}
					e.waitNATSCluster()
					nodes := e.natsNodes(e.a)
					var names []string
					for _, n := range nodes {
						e.proc("nats-" + n.Name).cmd.Process.Signal(syscall.SIGSTOP)
						names = append(names, n.Name)
					}
					return fmt.Sprintf("NATS node(s) %v that host a was connected to stopped (SIGSTOP)", names), time.Now()
				},
			},
		},
	}
}

func (e *env) startChannelServer() {
	e.run(e.s, "channel-server", nil, e.bins.channelServer, "-listen", e.s.Addr(2206),
		"-pidfile", filepath.Join(e.dir, "channel-server.pid"), "start")
	e.waitPort(e.s, e.s.Addr(2206))
}

func (e *env) startRedis() {
	e.run(e.s, "redis-server", nil, tool(e.t, "redis-server"), "--bind", e.s.IP, "--port", "6379",
		"--protected-mode", "no", "--save", "", "--appendonly", "no", "--dir", e.dir)
	e.waitPort(e.s, e.s.Addr(6379))
}

func (e *env) startNATS(h *netns.Host) {
	var routes []string
	for _, o := range []*netns.Host{e.a, e.b, e.c} {
		if o != h {
			routes = append(routes, "nats://"+o.Addr(6222))
		}
	}
	e.run(h, "nats-"+h.Name, nil, tool(e.t, "nats-server"), "-a", h.IP, "-p", "4222", "-m", "8222",
		"-n", "node-"+h.Name, "--cluster_name", "wm", "--cluster", "nats://"+h.Addr(6222),
		"--routes", strings.Join(routes, ","))
}

// waitNATSCluster waits until every node has routes to the two others.
func (e *env) waitNATSCluster() {
	for _, h := range []*netns.Host{e.a, e.b, e.c} {
		for {
			var routez struct {
				NumRoutes int `json:"num_routes"`
			}
			if err := e.getJSON(h, "http://"+h.Addr(8222)+"/routez", &routez); err == nil && routez.NumRoutes >= 2 {
				break
			}
			if e.ctx.Err() != nil {
				e.t.Fatalf("NATS node on %s has no routes to the others", h.Name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
