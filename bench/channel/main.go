// Command chanbench compares the Channel and GlobalData components with a
// Redis server driven by go-redis v9, the peer a Go developer would use
// otherwise, over loopback, in alternating rounds:
//
//   - pubsub: publish → deliver between processes (each publishes and
//     subscribes): deliveries per second, publish → callback latency;
//   - paced: the same at a fixed publish rate, for latency at equal load;
//   - fanout: one publish reaches the WebSocket connections of a
//     workerman program's processes (push.SendToAll over channel, or
//     go-redis subscriptions): deliveries per second, time until every
//     connection has the message;
//   - incr: GlobalData Increment against Redis INCR from concurrent callers
//     in several processes: operations per second, call latency.
//
// Every process of a run is this binary started again with a role; each
// run starts fresh servers (and its own redis-server on a free port). See
// README.md for the command and the results.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

var impls = []string{"ours", "redis"}

type options struct {
	args   string // the command line, for the report
	rounds int
	rows   []string

	warmup, duration time.Duration
	size             int

	pubsubProcs, window, publishers int
	pubsubRate                      float64

	conns, wsProcs, fanWarmup, publishes int

	incrProcs, callers int
	incrCallback       bool
}

func main() {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	self = exe
	if len(os.Args) == 3 && runRole(os.Args[1], os.Args[2]) {
		os.Exit(0)
	}
	o := &options{}
	fs := flag.NewFlagSet("chanbench", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: chanbench [flags]; see bench/channel/README.md")
		fs.PrintDefaults()
	}
	fs.IntVar(&o.rounds, "rounds", 5, "rounds; each runs every row against ours and redis, in an order that alternates")
	rows := fs.String("rows", "pubsub,paced,fanout,incr", "rows to run")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "pubsub, paced, incr: warm-up before the measured window")
	fs.DurationVar(&o.duration, "d", 5*time.Second, "pubsub, paced, incr: measured window")
	fs.IntVar(&o.size, "size", 64, "pubsub, paced, fanout: message bytes")
	fs.IntVar(&o.pubsubProcs, "procs", 4, "pubsub, paced: processes, each publishing and subscribing")
	fs.IntVar(&o.window, "window", 16, "pubsub, paced: messages a process keeps in flight")
	fs.IntVar(&o.publishers, "publishers", 16, "pubsub, paced: publishing goroutines per process (a go-redis PUBLISH waits for its reply: keep it at -window, so that both keep as many in flight)")
	fs.Float64Var(&o.pubsubRate, "paced-rate", 10000, "paced: messages published per second by all processes together")
	fs.IntVar(&o.conns, "conns", 10000, "fanout: WebSocket connections")
	fs.IntVar(&o.wsProcs, "ws-procs", 2, "fanout: WebSocket server processes")
	fs.IntVar(&o.fanWarmup, "fanout-warmup", 10, "fanout: publishes before the measured ones")
	fs.IntVar(&o.publishes, "publishes", 200, "fanout: measured publishes")
	fs.IntVar(&o.incrProcs, "incr-procs", 4, "incr: client processes")
	fs.IntVar(&o.callers, "callers", 16, "incr: concurrent callers (goroutines) per process")
	fs.BoolVar(&o.incrCallback, "incr-callback", false, "incr: ours uses the callback-style Increment on the loop, callers chains per process, instead of IncrementContext on goroutines")
	fs.Parse(os.Args[1:])
	o.rows = strings.Split(*rows, ",")
	o.args = strings.Join(append([]string{"chanbench"}, os.Args[1:]...), " ")
	if err := bench(o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "chanbench:", err)
		os.Exit(1)
	}
}

// runRole runs this process as one of the processes of a row, if role
// names one; it reports false otherwise.
func runRole(role, conf string) bool {
	decode := func(v any) {
		if err := json.Unmarshal([]byte(conf), v); err != nil {
			fail(fmt.Errorf("%s: bad configuration: %w", role, err))
		}
	}
	switch role {
	case "relay":
		var c relayConf
		decode(&c)
		relay(c)
	case "pubsub":
		var c pubsubConf
		decode(&c)
		pubsubClient(c)
	case "fanout-server":
		var c fanoutServerConf
		decode(&c)
		fanoutServer(c)
	case "fanout-gen":
		var c fanoutGenConf
		decode(&c)
		fanoutGen(c)
	case "incr":
		var c incrConf
		decode(&c)
		incrClient(c)
	default:
		return false
	}
	return true
}

// measure is one run of a row against one implementation.
type measure struct {
	ok        bool
	rate      float64       // deliveries or operations per second
	p50, p99  time.Duration // latency (pubsub, incr) or completion time (fanout)
	serverCPU time.Duration // CPU of the servers per delivery or operation
	serverIO  float64       // read and write system calls of the servers per delivery or operation
	clientCPU time.Duration // CPU of the client processes per delivery or operation
	allocs    float64       // heap allocations of the client processes per delivery or operation
	note      string
}

type row struct {
	name  string
	title string
	unit  string // what rate counts
	lat   string // what p50/p99 time
	run   func(*options, string) (measure, error)
}

func rowsFor(o *options) []row {
	pubsubTitle := fmt.Sprintf("publish → deliver: %d processes, each publishing and subscribing, %d B messages, at most %d in flight per process",
		o.pubsubProcs, o.size, o.window)
	return []row{
		{"pubsub", pubsubTitle + ", as fast as that allows", "deliveries/s", "publish → callback",
			func(o *options, impl string) (measure, error) { return pubsubRun(o, impl, 0) }},
		{"paced", pubsubTitle + fmt.Sprintf(", paced to %.0f publishes/s in all (%.0f deliveries/s)", o.pubsubRate, o.pubsubRate*float64(o.pubsubProcs)),
			"deliveries/s", "publish → callback",
			func(o *options, impl string) (measure, error) { return pubsubRun(o, impl, o.pubsubRate) }},
		{"fanout", fmt.Sprintf("fan-out: one publish to %d WebSocket connections over %d server processes, %d B, %d publishes one after another",
			o.conns, o.wsProcs, o.size, o.publishes), "deliveries/s", "publish → last connection", fanoutRun},
		{"incr", incrTitle(o), "operations/s", "call → result", incrRun},
	}
}

func incrTitle(o *options) string {
	style := "%d goroutines per process calling IncrementContext"
	if o.incrCallback {
		style = "%d chains of callback-style Increment on each process's loop"
	}
	return fmt.Sprintf("increment: %d processes, one key; ours: "+style+"; redis: as many goroutines calling go-redis Incr",
		o.incrProcs, o.callers)
}

// bench runs the rounds and writes the report to w, progress to log.
func bench(o *options, w, log io.Writer) error {
	var rows []row
	for _, r := range rowsFor(o) {
		if slices.Contains(o.rows, r.name) {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return fmt.Errorf("no known row in %v (pubsub, paced, fanout, incr)", o.rows)
	}
	if o.rounds < 1 {
		return errors.New("-rounds must be at least 1")
	}
	res := map[string]map[string][]measure{}
	for _, r := range rows {
		res[r.name] = map[string][]measure{}
	}
	var failed []string
	for round := range o.rounds {
		for _, r := range rows {
			order := impls
			if round%2 == 1 {
				order = []string{impls[1], impls[0]}
			}
			for _, impl := range order {
				m, err := r.run(o, impl)
				if err != nil {
					failed = append(failed, fmt.Sprintf("round %d %s %s: %v", round+1, r.name, impl, err))
					fmt.Fprintf(log, "round %d %-6s %-5s FAILED: %v\n", round+1, r.name, impl, err)
				} else {
					m.ok = true
					fmt.Fprintf(log, "round %d %-6s %-5s %12.0f %s  p50 %-8v p99 %-8v %s\n", round+1, r.name, impl, m.rate, r.unit, round3(m.p50), round3(m.p99), m.note)
				}
				res[r.name][impl] = append(res[r.name][impl], m)
			}
		}
	}
	report(w, o, rows, res)
	if len(failed) > 0 {
		return fmt.Errorf("%d run(s) failed:\n%s", len(failed), strings.Join(failed, "\n"))
	}
	return nil
}

func report(w io.Writer, o *options, rows []row, res map[string]map[string][]measure) {
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(w, "chanbench: %d round(s), %s, %s/%s, %d CPUs, load average %s, %s.\n",
		o.rounds, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "),
		time.Now().UTC().Format(time.RFC3339))
	if o.args != "" {
		fmt.Fprintf(w, "Command: `%s`.\n", o.args)
	}
	fmt.Fprintf(w, "ours = channel/push/globaldata; redis = redis-server + go-redis v9. Ratios are ours/redis, the median of same-round ratios and their range.\n")
	for _, r := range rows {
		fmt.Fprintf(w, "\n### %s\n\n%s; latency: %s.\n\n", r.name, r.title, r.lat)
		fmt.Fprintf(w, "| round | impl | %s | p50 | p99 | server CPU/op | server read+write/op | client CPU/op | client allocs/op |\n", r.unit)
		fmt.Fprintf(w, "|--:|---|--:|--:|--:|--:|--:|--:|--:|\n")
		for i := range o.rounds {
			for _, impl := range impls {
				m := res[r.name][impl][i]
				if !m.ok {
					fmt.Fprintf(w, "| %d | %s | failed | | | | | | |\n", i+1, impl)
					continue
				}
				fmt.Fprintf(w, "| %d | %s | %.0f | %v | %v | %v | %.2f | %v | %.2f |\n", i+1, impl, m.rate,
					round3(m.p50), round3(m.p99), round3(m.serverCPU), m.serverIO, round3(m.clientCPU), m.allocs)
			}
		}
		fmt.Fprintf(w, "\n| metric | ours (median) | redis (median) | ours/redis (median) | ours/redis (range) |\n")
		fmt.Fprintf(w, "|---|--:|--:|--:|--:|\n")
		metrics := []struct {
			name string
			get  func(measure) float64
			dur  bool
		}{
			{r.unit + " (higher is better)", func(m measure) float64 { return m.rate }, false},
			{"p50 (lower is better)", func(m measure) float64 { return float64(m.p50) }, true},
			{"p99 (lower is better)", func(m measure) float64 { return float64(m.p99) }, true},
			{"server CPU/op", func(m measure) float64 { return float64(m.serverCPU) }, true},
			{"server read+write/op", func(m measure) float64 { return m.serverIO }, false},
			{"client CPU/op", func(m measure) float64 { return float64(m.clientCPU) }, true},
		}
		for _, mt := range metrics {
			var ours, redis, ratios []float64
			for i := range o.rounds {
				a, b := res[r.name]["ours"][i], res[r.name]["redis"][i]
				if a.ok {
					ours = append(ours, mt.get(a))
				}
				if b.ok {
					redis = append(redis, mt.get(b))
				}
				if a.ok && b.ok && mt.get(b) > 0 {
					ratios = append(ratios, mt.get(a)/mt.get(b))
				}
			}
			show := func(v float64) string {
				if math.IsNaN(v) {
					return "–"
				}
				if mt.dur {
					return round3(time.Duration(v)).String()
				}
				if v < 100 {
					return fmt.Sprintf("%.2f", v)
				}
				return fmt.Sprintf("%.0f", v)
			}
			lo, hi := minMax(ratios)
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", mt.name, show(median(ours)), show(median(redis)),
				fmtRatio(median(ratios)), fmtRatio(lo)+"–"+fmtRatio(hi))
		}
	}
}

func fmtRatio(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.2f", v)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minMax(v []float64) (float64, float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	return slices.Min(v), slices.Max(v)
}

// round3 keeps three significant digits of a duration.
func round3(d time.Duration) time.Duration {
	for m := time.Duration(1); m < time.Hour; m *= 10 {
		if d < 1000*m {
			return d.Round(m)
		}
	}
	return d
}

// mallocs returns the process's heap allocations so far.
func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}
