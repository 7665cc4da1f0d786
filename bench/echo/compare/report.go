package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// median returns the median of xs (the mean of the middle two for an even
// count), or NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// column picks one figure of the runs of a server on a scenario, by round.
func (r *report) column(server string, sc scenario, f func(measurement) float64) map[int]float64 {
	out := map[int]float64{}
	for _, m := range r.Runs {
		if m.Server == server && m.Scenario == sc {
			out[m.Round] = f(m)
		}
	}
	return out
}

func values(m map[int]float64) []float64 {
	var xs []float64
	for _, v := range m {
		xs = append(xs, v)
	}
	return xs
}

// ratio returns the median over rounds of a's figure divided by b's figure
// in the same round.
func (r *report) ratio(a, b string, sc scenario, f func(measurement) float64) float64 {
	ca, cb := r.column(a, sc, f), r.column(b, sc, f)
	var xs []float64
	for round, va := range ca {
		if vb, ok := cb[round]; ok && vb != 0 {
			xs = append(xs, va/vb)
		}
	}
	return median(xs)
}

var (
	fRate     = func(m measurement) float64 { return m.Rate }
	fP50      = func(m measurement) float64 { return float64(m.P50) }
	fP99      = func(m measurement) float64 { return float64(m.P99) }
	fCPU      = func(m measurement) float64 { return m.CPUPerMsg }
	fAllocs   = func(m measurement) float64 { return orNaN(m.AllocsPerMsg, m.Tree) }
	fSyscalls = func(m measurement) float64 { return orNaN(m.SyscallsPerMsg, m.Tree) }
	fRWCalls  = func(m measurement) float64 { return m.RWCallsPerMsg }
	fSrvCPU   = func(m measurement) float64 { return m.ServerCPU }
	fGenCPU   = func(m measurement) float64 { return m.GenCPU }
)

func fmtDur(ns float64) string {
	if math.IsNaN(ns) {
		return "-"
	}
	d := time.Duration(ns)
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d >= 10*time.Microsecond:
		return d.Round(time.Microsecond).String()
	default:
		return fmt.Sprintf("%.2fµs", ns/1e3)
	}
}

func fmtRate(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func fmtNum(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func fmtPct(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", v*100)
}

func fmtBytes(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	if math.Abs(v) >= 10240 {
		return fmt.Sprintf("%.1f KiB", v/1024)
	}
	return fmt.Sprintf("%.0f B", v)
}

// write prints the report as Markdown.
func (r *report) write(w io.Writer) {
	o := r.Options
	fmt.Fprintf(w, "Echo benchmark: %d round(s), %v warm-up + %v measured per run, servers pinned to CPU %q (taskset %v), %s.\n",
		o.Rounds, o.Warmup, o.Duration, o.ServerCPU, o.Taskset, machine())
	fmt.Fprintf(w, "Figures are medians over rounds; ratios are medians of same-round ratios.\n")
	first := o.Servers[0]
	for _, sc := range o.Scenarios {
		fmt.Fprintf(w, "\n#### %s\n\n", sc)
		fmt.Fprintln(w, "| server | msg/s | p50 | p99 | CPU/msg | allocs/msg | syscalls/msg | read+write/msg | server CPU | generator CPU |")
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
		for _, s := range o.Servers {
			med := func(f func(measurement) float64) float64 { return median(values(r.column(s, sc, f))) }
			sys := "-"
			if o.Perf {
				sys = fmtNum(med(fSyscalls))
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s,
				fmtRate(med(fRate)), fmtDur(med(fP50)), fmtDur(med(fP99)), fmtDur(med(fCPU)),
				fmtNum(med(fAllocs)), sys, fmtNum(med(fRWCalls)), fmtPct(med(fSrvCPU)), fmtPct(med(fGenCPU)))
		}
		if o.Perf {
			fmt.Fprintln(w)
			for _, s := range o.Servers {
				fmt.Fprintf(w, "- %s system calls per message: %s\n", s, r.callMix(s, sc))
			}
		}
		if len(o.Servers) > 1 {
			fmt.Fprintln(w)
			fmt.Fprintln(w, "| ratio | msg/s | p99 | CPU/msg |")
			fmt.Fprintln(w, "|---|--:|--:|--:|")
			for _, s := range o.Servers[1:] {
				fmt.Fprintf(w, "| %s/%s | %s | %s | %s |\n", first, s,
					fmtNum(r.ratio(first, s, sc, fRate)), fmtNum(r.ratio(first, s, sc, fP99)), fmtNum(r.ratio(first, s, sc, fCPU)))
			}
		}
	}
	if len(o.Servers) > 1 && len(o.Scenarios) > 1 {
		fmt.Fprintf(w, "\n#### Summary: %s against each peer (median same-round ratio; msg/s above 1 and CPU/msg below 1 favour %s)\n\n", first, first)
		hdr := "| scenario |"
		sep := "|---|"
		for _, s := range o.Servers[1:] {
			hdr += fmt.Sprintf(" msg/s %s/%s | CPU/msg %s/%s |", first, s, first, s)
			sep += "--:|--:|"
		}
		fmt.Fprintln(w, hdr)
		fmt.Fprintln(w, sep)
		for _, sc := range o.Scenarios {
			line := "| " + sc.String() + " |"
			for _, s := range o.Servers[1:] {
				line += fmt.Sprintf(" %s | %s |", fmtNum(r.ratio(first, s, sc, fRate)), fmtNum(r.ratio(first, s, sc, fCPU)))
			}
			fmt.Fprintln(w, line)
		}
	}
	if len(r.Idle) > 0 {
		fmt.Fprintf(w, "\n#### Memory per idle connection (%d connections, after one 64 B echo each)\n\n", r.Idle[0].Conns)
		fmt.Fprintln(w, "| server | RSS/conn | Go heap in use/conn |")
		fmt.Fprintln(w, "|---|--:|--:|")
		for _, s := range o.Servers {
			var rss, heap []float64
			for _, im := range r.Idle {
				if im.Server == s {
					rss = append(rss, im.RSSPerConn)
					heap = append(heap, im.HeapPerConn)
				}
			}
			fmt.Fprintf(w, "| %s | %s | %s |\n", s, fmtBytes(median(rss)), fmtBytes(median(heap)))
		}
	}
	if len(r.Strace) > 0 {
		fmt.Fprintf(w, "\n#### System calls per message under strace -c -f (%s; tracing slows the servers, so only counts matter)\n\n", r.Strace[0].Scenario)
		fmt.Fprintln(w, "| server | total/msg | most frequent |")
		fmt.Fprintln(w, "|---|--:|---|")
		for _, p := range r.Strace {
			var parts []string
			for _, n := range p.topCalls(0.01) {
				parts = append(parts, fmt.Sprintf("%s %.2f", n, p.PerMsg[n]))
			}
			fmt.Fprintf(w, "| %s | %.2f | %s |\n", p.Server, p.Total, strings.Join(parts, ", "))
		}
	}
}

// callMix lists the median per-message count of each system call a server
// made on a scenario, most frequent first, leaving out the rare ones.
func (r *report) callMix(server string, sc scenario) string {
	per := map[string][]float64{}
	runs := 0
	for _, m := range r.Runs {
		if m.Server != server || m.Scenario != sc {
			continue
		}
		runs++
		for name, v := range m.PerCall {
			per[name] = append(per[name], v)
		}
	}
	type kv struct {
		name string
		v    float64
	}
	var mix []kv
	for name, vs := range per {
		for len(vs) < runs {
			vs = append(vs, 0) // rounds in which the call was not made
		}
		if v := median(vs); v >= 0.005 {
			mix = append(mix, kv{name, v})
		}
	}
	slices.SortFunc(mix, func(a, b kv) int {
		if a.v != b.v {
			if a.v > b.v {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	var parts []string
	for _, e := range mix {
		parts = append(parts, fmt.Sprintf("%s %.3f", e.name, e.v))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// machine describes the CPU, kernel and load.
func machine() string {
	var parts []string
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				parts = append(parts, strings.TrimSpace(v))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		parts = append(parts, "Linux "+strings.TrimSpace(string(b)))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			parts = append(parts, "load average "+strings.Join(f[:3], " "))
		}
	}
	return strings.Join(parts, ", ")
}

// orNaN hides a figure that was not measured (a process tree has no Go
// heap figures or perf counts).
func orNaN(v float64, unmeasured bool) float64 {
	if unmeasured {
		return math.NaN()
	}
	return v
}
