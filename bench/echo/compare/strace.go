package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/workerman-go/workerman/bench/loadgen"
)

// straceProfile is the system calls of one server per echoed message, as
// counted by strace -c over a short run. Tracing slows the server down by
// an order of magnitude, so only the counts mean anything, not the rate.
type straceProfile struct {
	Server   string
	Scenario scenario
	Messages int64
	// PerMsg maps a system call's name to its calls per message.
	PerMsg map[string]float64
	// Total is all system calls per message.
	Total float64
}

// straceRun attaches strace -c -f to a fresh server, drives it for
// o.Strace with scenario sc, and counts its system calls per message.
func straceRun(ctx context.Context, o options, s serverSpec, sc scenario) (straceProfile, error) {
	bin, err := exec.LookPath("strace")
	if err != nil {
		return straceProfile{}, errors.New("strace is not installed (apt-get install strace)")
	}
	srv, err := startServer(ctx, o, s)
	if err != nil {
		return straceProfile{}, err
	}
	defer srv.Stop()
	out := filepath.Join(os.TempDir(), fmt.Sprintf("echo-strace-%d.txt", srv.PID))
	defer os.Remove(out)
	tr := exec.CommandContext(ctx, bin, "-c", "-f", "-o", out, "-p", strconv.Itoa(srv.PID))
	tr.Stderr = new(strings.Builder)
	if err := tr.Start(); err != nil {
		return straceProfile{}, err
	}
	// strace reports "Process N attached" on stderr once it traces; give
	// it a moment rather than parsing that.
	time.Sleep(500 * time.Millisecond)
	res, err := loadgen.Run(ctx, loadgen.Config{
		Addr: srv.Addr, Conns: sc.Conns, Payload: sc.Payload, Depth: sc.Depth,
		Duration: o.Strace,
	})
	tr.Process.Signal(syscall.SIGINT)
	werr := tr.Wait()
	if err != nil {
		return straceProfile{}, err
	}
	b, rerr := os.ReadFile(out)
	if rerr != nil {
		return straceProfile{}, fmt.Errorf("strace wrote no summary (%v; %v): %s", rerr, werr, tr.Stderr)
	}
	calls, err := parseStraceSummary(string(b))
	if err != nil {
		return straceProfile{}, err
	}
	if res.Messages == 0 {
		return straceProfile{}, errors.New("no message was echoed while tracing")
	}
	p := straceProfile{Server: s.Name, Scenario: sc, Messages: res.Messages, PerMsg: map[string]float64{}}
	for name, n := range calls {
		v := float64(n) / float64(res.Messages)
		p.PerMsg[name] = v
		p.Total += v
	}
	return p, nil
}

// parseStraceSummary reads the table strace -c prints and returns the
// calls of each system call.
func parseStraceSummary(s string) (map[string]int64, error) {
	calls := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// % time, seconds, usecs/call, calls, [errors,] syscall
		if len(f) < 5 || len(f) > 6 {
			continue
		}
		if _, err := strconv.ParseFloat(f[0], 64); err != nil {
			continue
		}
		name := f[len(f)-1]
		if name == "total" {
			continue
		}
		n, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			continue
		}
		calls[name] += n
	}
	if len(calls) == 0 {
		return nil, fmt.Errorf("no system call counts in strace output: %q", s)
	}
	return calls, nil
}

// topCalls returns the names of p's system calls by calls per message,
// most frequent first, leaving out those under min per message.
func (p straceProfile) topCalls(min float64) []string {
	var names []string
	for n, v := range p.PerMsg {
		if v >= min {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if p.PerMsg[names[i]] != p.PerMsg[names[j]] {
			return p.PerMsg[names[i]] > p.PerMsg[names[j]]
		}
		return names[i] < names[j]
	})
	return names
}
