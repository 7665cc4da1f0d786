// Command hostfanout measures fan-out across hosts: one message published on
// one host reaches N WebSocket subscribers spread over three hosts (network
// namespaces on this machine, joined by a bridge). The same program
// (internal/multihost/pushnode, two worker processes per host, push groups)
// runs on each channel backend — the embedded channel server, a NATS cluster
// of three nodes, one Redis — and Centrifugo does the same job (one publish
// to a channel with N subscribers, three nodes) on NATS and on Redis.
//
// It needs root (network namespaces). See README.md for the command and the
// results.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/workerman-go/workerman/internal/netns"
	"golang.org/x/sys/unix"
)

var (
	rounds     = flag.Int("rounds", 3, "rounds; each runs every implementation once, in an order that rotates")
	implList   = flag.String("impls", "embedded,nats,redis,centrifugo-nats,centrifugo-redis", "implementations to run")
	conns      = flag.Int("conns", 3000, "WebSocket subscribers, spread evenly over the three hosts")
	size       = flag.Int("size", 64, "message bytes")
	warmup     = flag.Int("warmup", 10, "publishes before the measured ones")
	publishes  = flag.Int("publishes", 100, "measured publishes, one after another")
	wsProcs    = flag.Int("ws-procs", 2, "pushnode worker processes per host")
	centrifugo = flag.String("centrifugo", "../.cache/bin/centrifugo", "the centrifugo binary (see README.md)")
)

// pairs are the same-round ratios the report gives: ours against
// Centrifugo on the same broker, and the embedded server (one relay
// process) against Centrifugo on Redis (one broker process).
var pairs = [][2]string{
	{"nats", "centrifugo-nats"},
	{"redis", "centrifugo-redis"},
	{"embedded", "centrifugo-redis"},
}

func main() {
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: hostfanout [flags] (as root); see bench/hostfanout/README.md")
		flag.PrintDefaults()
	}
	flag.Parse()
	// Descriptors inherited from the caller (flock's lock, above all) are
	// not passed on to the servers, which a killed run would leave holding
	// them.
	unix.CloseRange(3, math.MaxUint, unix.CLOSE_RANGE_CLOEXEC)
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "hostfanout:", err)
		os.Exit(1)
	}
}

func run() error {
	if err := netns.Supported(); err != nil {
		return err
	}
	if err := netns.Sweep(); err != nil {
		return err
	}
	impls := strings.Split(*implList, ",")
	p, cleanup, err := buildPrograms(impls)
	if err != nil {
		return err
	}
	defer cleanup()
	ctx := context.Background()
	results := map[string][]measure{} // per implementation, per round
	for r := range *rounds {
		order := slices.Clone(impls)
		k := r % len(order)
		order = append(order[k:], order[:k]...)
		for _, impl := range order {
			fmt.Fprintf(os.Stderr, "round %d: %s ...", r+1, impl)
			m, err := fanRun(ctx, p, impl)
			if err != nil {
				fmt.Fprintln(os.Stderr)
				return fmt.Errorf("round %d: %w", r+1, err)
			}
			fmt.Fprintf(os.Stderr, " %.0f deliveries/s, %.0f per server CPU-s, p50 %v, p99 %v (%s)\n",
				m.rate, m.perCPU, m.p50, m.p99, m.note)
			results[impl] = append(results[impl], m)
		}
	}
	report(impls, results)
	return nil
}

// buildPrograms builds pushnode and the channel server into a temporary
// directory and finds the servers the implementations need.
func buildPrograms(impls []string) (programs, func(), error) {
	var p programs
	dir, err := os.MkdirTemp("", "hostfanout-bin-")
	if err != nil {
		return p, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	cmd := exec.Command("go", "build", "-o", dir+"/",
		"github.com/workerman-go/workerman/internal/multihost/pushnode",
		"github.com/workerman-go/workerman/cmd/channel-server")
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return p, nil, fmt.Errorf("build: %v\n%s", err, out)
	}
	p.pushnode = filepath.Join(dir, "pushnode")
	p.channelServer = filepath.Join(dir, "channel-server")
	need := func(name string) (string, error) {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
		if path := "/usr/sbin/" + name; fileExists(path) {
			return path, nil
		}
		return "", errors.New(name + " is not installed (Debian package " + name + ")")
	}
	for _, impl := range impls {
		switch {
		case strings.HasSuffix(impl, "nats") && p.natsServer == "":
			p.natsServer, err = need("nats-server")
		case strings.HasSuffix(impl, "redis") && p.redisServer == "":
			p.redisServer, err = need("redis-server")
		}
		if err == nil && strings.HasPrefix(impl, "centrifugo") && p.centrifugo == "" {
			p.centrifugo, err = filepath.Abs(*centrifugo)
			if err == nil && !fileExists(p.centrifugo) {
				err = fmt.Errorf("%s not found: build it as README.md says", p.centrifugo)
			}
		}
		if err != nil {
			cleanup()
			return p, nil, err
		}
	}
	return p, cleanup, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

type metric struct {
	name   string
	higher bool
	get    func(measure) float64
	format func(float64) string
}

var metrics = []metric{
	{"deliveries/s", true, func(m measure) float64 { return m.rate }, func(v float64) string { return fmt.Sprintf("%.0f", v) }},
	{"deliveries per server CPU-s", true, func(m measure) float64 { return m.perCPU }, func(v float64) string { return fmt.Sprintf("%.0f", v) }},
	{"p50 publish → last subscriber", false, func(m measure) float64 { return float64(m.p50) }, fmtDur},
	{"p99 publish → last subscriber", false, func(m measure) float64 { return float64(m.p99) }, fmtDur},
}

func fmtDur(v float64) string { return time.Duration(v).Round(10 * time.Microsecond).String() }

func report(impls []string, res map[string][]measure) {
	fmt.Printf("# hostfanout\n\n`hostfanout %s`, %s, %s/%s, %d CPUs, %s\n\n", strings.Join(os.Args[1:], " "),
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
	fmt.Printf("One publish at a time to %d WebSocket subscribers over 3 hosts, %d B, %d measured publishes per run, %d rounds.\n\n",
		*conns/3*3, *size, *publishes, *rounds)
	fmt.Printf("| implementation | %s |\n|---|%s\n", strings.Join(metricNames(), " (median) | ")+" (median)",
		strings.Repeat("--:|", len(metrics)))
	for _, impl := range impls {
		row := []string{impl}
		for _, mt := range metrics {
			var v []float64
			for _, m := range res[impl] {
				v = append(v, mt.get(m))
			}
			row = append(row, mt.format(median(v)))
		}
		fmt.Printf("| %s |\n", strings.Join(row, " | "))
	}
	fmt.Printf("\nSame-round ratios, median (lowest–highest); above 1 favours the first for the rates, below 1 for latency:\n\n")
	fmt.Printf("| ratio | %s |\n|---|%s\n", strings.Join(metricNames(), " | "), strings.Repeat("--:|", len(metrics)))
	for _, pr := range pairs {
		a, b := res[pr[0]], res[pr[1]]
		if len(a) == 0 || len(b) == 0 {
			continue
		}
		row := []string{pr[0] + " / " + pr[1]}
		for _, mt := range metrics {
			var r []float64
			for i := range min(len(a), len(b)) {
				if d := mt.get(b[i]); d > 0 {
					r = append(r, mt.get(a[i])/d)
				}
			}
			row = append(row, fmt.Sprintf("%.2f (%.2f–%.2f)", median(r), slices.Min(r), slices.Max(r)))
		}
		fmt.Printf("| %s |\n", strings.Join(row, " | "))
	}
	fmt.Printf("\nEvery run:\n\n| round | implementation | deliveries/s | per server CPU-s | p50 | p99 | note |\n|--:|---|--:|--:|--:|--:|---|\n")
	for _, impl := range impls {
		for i, m := range res[impl] {
			fmt.Printf("| %d | %s | %.0f | %.0f | %s | %s | %s |\n", i+1, impl, m.rate, m.perCPU, fmtDur(float64(m.p50)), fmtDur(float64(m.p99)), m.note)
		}
	}
}

func metricNames() []string {
	var n []string
	for _, m := range metrics {
		n = append(n, m.name)
	}
	return n
}
