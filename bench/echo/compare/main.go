// Command compare runs the TCP echo benchmark: it starts each echo server
// (this framework, gnet v2, and the standard library with a goroutine per
// connection) as its own process pinned to one CPU, drives it with the load
// generator of package loadgen from this process, and prints a table of
// medians and median ratios.
//
// The machine this runs on is assumed noisy: every scenario is measured in
// several rounds, the servers alternate within each round (in a rotating
// order), every measurement starts a fresh server process, and ratios are
// taken between servers of the same round before the median is taken.
// Besides throughput and latency, which wobble, it reports figures that do
// not: server CPU time per message, Go heap allocations per message and
// read/write system calls per message, and optionally the memory cost of
// idle connections and a per-syscall profile from strace.
//
//	compare -bin ./bin -server-cpu 0 -rounds 5 -d 5s
//
// Run it pinned to a CPU other than -server-cpu (taskset -c 1 compare ...);
// bench/run-echo.sh does all of this.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	var o options
	var servers, scenarios string
	flag.StringVar(&o.BinDir, "bin", "bin", "directory holding the server binaries echo-ours, echo-gnet, echo-net")
	flag.StringVar(&servers, "servers", "ours,gnet,net", "servers to compare, the first being the one the ratios are about")
	flag.StringVar(&scenarios, "scenarios", "50x64,1000x64,50x4096,1000x4096,50x64x16,50x64@25000,1000x64@25000", "comma-separated scenarios CONNSxPAYLOAD[xDEPTH][@MSG_PER_S]")
	flag.IntVar(&o.Rounds, "rounds", 5, "rounds; each round measures every scenario on every server once")
	flag.DurationVar(&o.Warmup, "warmup", time.Second, "load before each measured window")
	flag.DurationVar(&o.Duration, "d", 5*time.Second, "measured window of each run")
	flag.StringVar(&o.ServerCPU, "server-cpu", "0", "CPU list the servers are pinned to with taskset (empty: no pinning)")
	flag.IntVar(&o.Procs, "procs", 1, "cores per server: above 1, ours runs workerman.RunAll with Count=N, gnet N loops (multicore), net GOMAXPROCS=N, the generator N threads; use with -server-cpu ''")
	flag.IntVar(&o.Idle, "idle", 5000, "idle connections for the memory-per-connection figure (0 skips it)")
	flag.DurationVar(&o.Strace, "strace", 0, "if set, also run each server this long under strace -c and print system calls per message")
	flag.BoolVar(&o.Perf, "perf", true, "count the servers' system calls per message with perf during each measured window (skipped if perf cannot)")
	flag.StringVar(&o.JSON, "json", "", "write every measurement to this file as JSON")
	flag.Parse()

	var err error
	if o.Scenarios, err = parseScenarios(scenarios); err != nil {
		fatal(err)
	}
	if o.Servers, err = serverSpecs(o.BinDir, servers); err != nil {
		fatal(err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	rep, err := run(ctx, o)
	if err != nil {
		fatal(err)
	}
	rep.write(os.Stdout)
	if o.JSON != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			err = os.WriteFile(o.JSON, b, 0o644)
		}
		if err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "compare:", err)
	os.Exit(1)
}

// serverSpecs maps server names to the binaries bench/run-echo.sh builds.
func serverSpecs(dir, list string) ([]serverSpec, error) {
	var specs []serverSpec
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		bin := filepath.Join(dir, "echo-"+name)
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("server %q: %w (build it first; see bench/run-echo.sh)", name, err)
		}
		specs = append(specs, serverSpec{Name: name, Argv: []string{bin}})
	}
	if len(specs) == 0 {
		return nil, errors.New("no servers given")
	}
	return specs, nil
}
