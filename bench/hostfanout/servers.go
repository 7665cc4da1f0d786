package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/workerman-go/workerman/internal/netns"
)

// Ports on every host.
const (
	wsPort         = 8090 // pushnode's WebSocket
	centrifugoPort = 8000 // Centrifugo's WebSocket and HTTP API
	natsPort       = 4222
	natsCluster    = 6222
	natsMonitor    = 8222
	redisPort      = 6379
	channelPort    = 2206
	apiKey         = "bench"
)

// programs are the binaries a run starts.
type programs struct {
	pushnode, channelServer, centrifugo, natsServer, redisServer string
}

// cluster is one run's network and servers: hosts a, b, c hold the
// WebSocket servers (and the NATS nodes), host s the single-server brokers
// (Redis, the channel server).
type cluster struct {
	net     *netns.Net
	hosts   []*netns.Host // a, b, c
	s       *netns.Host
	dir     string
	impl    string
	wsAddrs []string // per host: where subscribers connect
	procs   []*exec.Cmd
}

func startCluster(ctx context.Context, p programs, impl string) (*cluster, error) {
	n, err := netns.New("10.77.0", "a", "b", "c", "s")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hostfanout-")
	if err != nil {
		n.Close()
		return nil, err
	}
	cl := &cluster{net: n, hosts: n.Hosts[:3], s: n.Host("s"), dir: dir, impl: impl}
	if err := cl.start(ctx, p); err != nil {
		err = fmt.Errorf("%s: %w%s", impl, err, cl.logTails())
		cl.close()
		return nil, err
	}
	return cl, nil
}

func (cl *cluster) close() {
	cl.net.Close()
	for _, c := range cl.procs {
		c.Wait()
	}
	os.RemoveAll(cl.dir)
}

func (cl *cluster) run(h *netns.Host, name string, bin string, args ...string) error {
	f, err := os.Create(filepath.Join(cl.dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := h.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Start()
	f.Close()
	if err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	cl.procs = append(cl.procs, cmd)
	return nil
}

// logTails returns the end of every log, for an error message.
func (cl *cluster) logTails() string {
	logs, _ := filepath.Glob(filepath.Join(cl.dir, "*.log"))
	var b strings.Builder
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		if len(data) > 1500 {
			data = data[len(data)-1500:]
		}
		if len(data) > 0 {
			fmt.Fprintf(&b, "\n--- %s\n%s", filepath.Base(l), data)
		}
	}
	return b.String()
}

func waitPort(ctx context.Context, h *netns.Host, addr string) error {
	for {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := h.DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil {
			c.Close()
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s does not accept connections: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (cl *cluster) start(ctx context.Context, p programs) error {
	var broker string // the channel address, for pushnode
	switch {
	case strings.HasSuffix(cl.impl, "nats"):
		var urls []string
		for _, h := range cl.hosts {
			var routes []string
			for _, o := range cl.hosts {
				if o != h {
					routes = append(routes, "nats://"+o.Addr(natsCluster))
				}
			}
			if err := cl.run(h, "nats-"+h.Name, p.natsServer, "-a", h.IP, "-p", strconv.Itoa(natsPort),
				"-m", strconv.Itoa(natsMonitor), "-n", "node-"+h.Name, "--cluster_name", "bench",
				"--cluster", "nats://"+h.Addr(natsCluster), "--routes", strings.Join(routes, ",")); err != nil {
				return err
			}
			urls = append(urls, "nats://"+h.Addr(natsPort))
		}
		if err := cl.waitNATSRoutes(ctx); err != nil {
			return err
		}
		broker = strings.Join(urls, ",")
	case strings.HasSuffix(cl.impl, "redis"):
		if err := cl.run(cl.s, "redis", p.redisServer, "--bind", cl.s.IP, "--port", strconv.Itoa(redisPort),
			"--protected-mode", "no", "--save", "", "--appendonly", "no", "--dir", cl.dir); err != nil {
			return err
		}
		if err := waitPort(ctx, cl.s, cl.s.Addr(redisPort)); err != nil {
			return err
		}
		broker = "redis://" + cl.s.Addr(redisPort)
	case cl.impl == "embedded":
		if err := cl.run(cl.s, "channel-server", p.channelServer, "-listen", cl.s.Addr(channelPort),
			"-pidfile", filepath.Join(cl.dir, "channel-server.pid"), "start"); err != nil {
			return err
		}
		if err := waitPort(ctx, cl.s, cl.s.Addr(channelPort)); err != nil {
			return err
		}
		broker = cl.s.Addr(channelPort)
	default:
		return fmt.Errorf("unknown implementation %q", cl.impl)
	}

	for _, h := range cl.hosts {
		var err error
		var addr string
		if strings.HasPrefix(cl.impl, "centrifugo") {
			addr = h.Addr(centrifugoPort)
			err = cl.startCentrifugo(p, h, broker)
		} else {
			addr = h.Addr(wsPort)
			err = cl.run(h, "pushnode-"+h.Name, p.pushnode, "-listen", addr, "-channel", broker,
				"-name", h.Name, "-count", strconv.Itoa(*wsProcs), "-dir", cl.dir, "start")
		}
		if err != nil {
			return err
		}
		cl.wsAddrs = append(cl.wsAddrs, addr)
	}
	for i, h := range cl.hosts {
		if err := waitPort(ctx, h, cl.wsAddrs[i]); err != nil {
			return err
		}
	}
	return nil
}

// startCentrifugo starts one Centrifugo node on h with a configuration of
// its own: anonymous clients may subscribe to any channel (client.insecure,
// a benchmark setting), the HTTP API takes the key "bench", and the nodes
// meet through the broker, Redis or NATS.
func (cl *cluster) startCentrifugo(p programs, h *netns.Host, broker string) error {
	conf := map[string]any{
		"client": map[string]any{
			"insecure":        true,
			"allowed_origins": []string{"*"},
		},
		"http_api": map[string]any{"key": apiKey},
		"http_server": map[string]any{
			"address": h.IP,
			"port":    centrifugoPort,
		},
		"log": map[string]any{"level": "error"},
	}
	if strings.HasPrefix(broker, "redis://") {
		conf["engine"] = map[string]any{
			"type":  "redis",
			"redis": map[string]any{"address": []string{broker}},
		}
	} else {
		conf["broker"] = map[string]any{
			"enabled": true,
			"type":    "nats",
			"nats":    map[string]any{"url": broker},
		}
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(cl.dir, "centrifugo-"+h.Name+".json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	return cl.run(h, "centrifugo-"+h.Name, p.centrifugo, "--config", path)
}

// waitNATSRoutes waits until every node has routes to the two others.
func (cl *cluster) waitNATSRoutes(ctx context.Context) error {
	for _, h := range cl.hosts {
		hc := hostHTTP(h)
		for {
			var routez struct {
				NumRoutes int `json:"num_routes"`
			}
			resp, err := hc.Get("http://" + h.Addr(natsMonitor) + "/routez")
			if err == nil {
				err = json.NewDecoder(resp.Body).Decode(&routez)
				resp.Body.Close()
				if err == nil && routez.NumRoutes >= 2 {
					break
				}
			}
			if ctx.Err() != nil {
				return fmt.Errorf("NATS node on %s has no routes to the others", h.Name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// hostHTTP is an HTTP client whose connections are opened on host h.
func hostHTTP(h *netns.Host) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return h.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 4,
	}}
}

// serverCPU is the CPU time used so far by every process on the hosts
// (servers and brokers; the load generator runs outside them), per PID.
func (cl *cluster) serverCPU() map[int]time.Duration {
	m := map[int]time.Duration{}
	for _, h := range cl.net.Hosts {
		for _, pid := range h.Pids() {
			if pid == os.Getpid() {
				continue // a thread of this process opening a socket there
			}
			if d, ok := procCPU(pid); ok {
				m[pid] = d
			}
		}
	}
	return m
}

// cpuSince sums the CPU time used since before by the processes sampled
// then (a process started since then would be counted from zero, which
// none is during a measurement), in all and per program name.
func (cl *cluster) cpuSince(before map[int]time.Duration) (time.Duration, map[string]time.Duration) {
	var sum time.Duration
	per := map[string]time.Duration{}
	for pid, d := range cl.serverCPU() {
		sum += d - before[pid]
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		per[strings.TrimSpace(string(comm))] += d - before[pid]
	}
	return sum, per
}

// procCPU reads utime+stime of a process from /proc/PID/stat.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// Fields after the command: state is 0, utime 11, stime 12.
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+st) * time.Second / clockTicks, true
}

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100
