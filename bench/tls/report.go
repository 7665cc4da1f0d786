package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// serverLabels name the servers in the report.
var serverLabels = map[string]string{
	"workerman":  "workerman",
	"workerman2": "workerman2",
	"gotls":      "crypto/tls",
	"nbio":       "nbio",
}

// ours reports whether the server is one of workerman's.
func ours(name string) bool { return strings.HasPrefix(name, "workerman") }

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// report prints a test's table: per server the medians over the rounds,
// then for each of workerman's servers against each peer (and against a
// workerman server listed before it) the ratios of rate and server CPU
// per operation, round by round.
func report(tc test, names []string, res [][]result) {
	fmt.Printf("## %s\n", tc.name)
	fmt.Printf("%-10s %16s %12s %12s %16s %12s\n", "server", "median "+tc.unit, "CPU µs/op", "allocs/op", "r+w syscalls/op", "switches/op")
	col := func(rs []result, f func(result) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	for i, rs := range res {
		allocs := "-" // unknown: a process tree
		if a := col(rs, func(r result) float64 { return r.allocsPerOp }); !math.IsNaN(a) {
			allocs = fmt.Sprintf("%.1f", a)
		}
		fmt.Printf("%-10s %16.1f %12.1f %12s %16.2f %12.2f\n", serverLabels[names[i]],
			col(rs, func(r result) float64 { return r.rate }),
			col(rs, func(r result) float64 { return r.cpuPerOp }),
			allocs,
			col(rs, func(r result) float64 { return r.syscallsPerOp }),
			col(rs, func(r result) float64 { return r.switchesPerOp }))
	}
	for i, a := range names {
		if !ours(a) {
			continue
		}
		for j, b := range names {
			if j == i || ours(b) && j > i {
				continue
			}
			var ratios, cpuRatios []float64
			for r := range res[i] {
				ratios = append(ratios, res[i][r].rate/res[j][r].rate)
				cpuRatios = append(cpuRatios, res[i][r].cpuPerOp/res[j][r].cpuPerOp)
			}
			pair := serverLabels[a] + "/" + strings.ReplaceAll(serverLabels[b], "/", "-")
			fmt.Printf("%-46s %s; median %.2f\n", "rate, "+pair+" per round:", joinRatios(ratios), median(ratios))
			fmt.Printf("%-46s %s; median %.2f\n", "server CPU per op, "+pair+":", joinRatios(cpuRatios), median(cpuRatios))
		}
	}
	fmt.Println()
}

func joinRatios(xs []float64) string {
	rs := make([]string, len(xs))
	for i, r := range xs {
		rs[i] = fmt.Sprintf("%.2f", r)
	}
	return strings.Join(rs, " ")
}
