package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/workerman-go/workerman/bench/loadgen"
	"github.com/workerman-go/workerman/bench/loadgen/procstat"
)

// options configure a comparison.
type options struct {
	BinDir    string
	Servers   []serverSpec
	Scenarios []scenario
	Rounds    int
	Warmup    time.Duration
	Duration  time.Duration
	ServerCPU string
	// Procs above 1 runs every server on that many cores: worker
	// processes (ours), event loops (gnet) or GOMAXPROCS (net), and the
	// load generator with as many threads. Figures then cover the whole
	// process tree, without Go heap allocations or perf counts.
	Procs  int
	Idle   int
	Strace time.Duration
	Perf   bool
	JSON   string
	Log    *slog.Logger
}

// serverSpec is a server under test: a command that takes -addr.
type serverSpec struct {
	Name string
	Argv []string
}

// scenario is one load shape.
type scenario struct {
	Conns   int
	Payload int
	Depth   int
	// Rate paces the load to this many messages per second; 0 means as
	// fast as the server answers.
	Rate int
}

func (s scenario) String() string {
	str := fmt.Sprintf("%d conns x %d B", s.Conns, s.Payload)
	if s.Depth > 1 {
		str += fmt.Sprintf(" x depth %d", s.Depth)
	}
	if s.Rate > 0 {
		str += " at " + fmtRate(float64(s.Rate)) + " msg/s"
	}
	return str
}

// parseScenarios parses "50x64,1000x4096x16,50x64@20000": connections x
// payload bytes [x depth] [@ messages per second].
func parseScenarios(s string) ([]scenario, error) {
	var out []scenario
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		shape, rate, paced := strings.Cut(part, "@")
		f := strings.Split(shape, "x")
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("scenario %q: want CONNSxPAYLOAD[xDEPTH][@RATE]", part)
		}
		if paced {
			f = append(f[:len(f):len(f)], rate)
		}
		var n [4]int
		n[2] = 1
		for i, v := range f {
			x, err := strconv.Atoi(v)
			if err != nil || x < 1 {
				return nil, fmt.Errorf("scenario %q: %q is not a positive number", part, v)
			}
			if paced && i == len(f)-1 {
				n[3] = x
			} else {
				n[i] = x
			}
		}
		out = append(out, scenario{Conns: n[0], Payload: n[1], Depth: n[2], Rate: n[3]})
	}
	if len(out) == 0 {
		return nil, errors.New("no scenarios given")
	}
	return out, nil
}

// measurement is one server measured once on one scenario.
type measurement struct {
	Round    int
	Server   string
	Scenario scenario
	Messages int64
	Elapsed  time.Duration
	// Rate is messages per second.
	Rate     float64
	P50, P99 time.Duration
	// CPUPerMsg is the server's CPU time per message in nanoseconds.
	CPUPerMsg float64
	// AllocsPerMsg is the server's Go heap allocations per message.
	AllocsPerMsg float64
	// RWCallsPerMsg is the server's read-like plus write-like system calls
	// per message (/proc/PID/io).
	RWCallsPerMsg float64
	// SyscallsPerMsg is all system calls of the server per message and
	// PerCall the main ones by name, counted with perf; both are empty
	// when perf is not used.
	SyscallsPerMsg float64
	PerCall        map[string]float64 `json:",omitempty"`
	// ServerCPU and GenCPU are the fractions of one CPU the server and the
	// load generator used during the window.
	ServerCPU, GenCPU float64
	// GCs is the number of GC cycles of the server during the window.
	GCs uint64
	// Tree: the server ran as several processes (see options.Procs);
	// allocations and perf counts were not measured.
	Tree bool `json:",omitempty"`
}

// idleMeasurement is the memory cost of idle connections on one server.
type idleMeasurement struct {
	Round  int
	Server string
	Conns  int
	// RSSPerConn and HeapPerConn are bytes per connection.
	RSSPerConn, HeapPerConn float64
}

// report is everything a comparison measured.
type report struct {
	Options struct {
		Servers   []string
		Scenarios []scenario
		Rounds    int
		Warmup    time.Duration
		Duration  time.Duration
		ServerCPU string
		Taskset   bool
		Perf      bool
	}
	Runs   []measurement
	Idle   []idleMeasurement
	Strace []straceProfile
}

// run measures every scenario on every server for the given rounds.
func run(ctx context.Context, o options) (*report, error) {
	if o.Rounds < 1 {
		return nil, errors.New("rounds must be at least 1")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	rep := &report{}
	for _, s := range o.Servers {
		rep.Options.Servers = append(rep.Options.Servers, s.Name)
	}
	rep.Options.Scenarios = o.Scenarios
	rep.Options.Rounds = o.Rounds
	rep.Options.Warmup = o.Warmup
	rep.Options.Duration = o.Duration
	rep.Options.ServerCPU = o.ServerCPU
	rep.Options.Taskset = tasksetAvailable()
	if o.Perf {
		if err := procstat.SyscallCounterAvailable(); err != nil {
			o.Log.Warn("not counting system calls with perf", "err", err)
			o.Perf = false
		}
	}
	rep.Options.Perf = o.Perf

	per := o.Warmup + o.Duration + 500*time.Millisecond
	total := time.Duration(o.Rounds*len(o.Scenarios)*len(o.Servers)) * per
	o.Log.Info("echo benchmark", "servers", rep.Options.Servers, "scenarios", len(o.Scenarios), "rounds", o.Rounds, "estimated", total.Round(time.Second))

	for r := 0; r < o.Rounds; r++ {
		order := rotate(o.Servers, r)
		for _, sc := range o.Scenarios {
			for _, s := range order {
				m, err := measure(ctx, o, s, sc)
				if err != nil {
					return nil, fmt.Errorf("round %d, %s, %s: %w", r+1, s.Name, sc, err)
				}
				m.Round = r + 1
				o.Log.Info("measured", "round", r+1, "server", s.Name, "scenario", sc.String(),
					"msg/s", int(m.Rate), "cpu/msg", time.Duration(m.CPUPerMsg), "allocs/msg", fmt.Sprintf("%.2f", m.AllocsPerMsg),
					"server_cpu", fmt.Sprintf("%.0f%%", m.ServerCPU*100), "gen_cpu", fmt.Sprintf("%.0f%%", m.GenCPU*100))
				rep.Runs = append(rep.Runs, m)
			}
		}
		if o.Idle > 0 {
			for _, s := range order {
				im, err := measureIdle(ctx, o, s)
				if err != nil {
					return nil, fmt.Errorf("round %d, %s, idle connections: %w", r+1, s.Name, err)
				}
				im.Round = r + 1
				o.Log.Info("idle", "round", r+1, "server", s.Name, "conns", im.Conns,
					"rss/conn", int(im.RSSPerConn), "heap/conn", int(im.HeapPerConn))
				rep.Idle = append(rep.Idle, im)
			}
		}
	}
	if o.Strace > 0 {
		for _, s := range o.Servers {
			p, err := straceRun(ctx, o, s, o.Scenarios[0])
			if err != nil {
				return nil, fmt.Errorf("strace %s: %w", s.Name, err)
			}
			rep.Strace = append(rep.Strace, p)
		}
	}
	return rep, nil
}

func rotate[T any](s []T, r int) []T {
	out := make([]T, 0, len(s))
	for i := range s {
		out = append(out, s[(i+r)%len(s)])
	}
	return out
}

func tasksetAvailable() bool {
	_, err := exec.LookPath("taskset")
	return err == nil
}

func startServer(ctx context.Context, o options, s serverSpec) (*procstat.Server, error) {
	addr, err := procstat.FreeAddr()
	if err != nil {
		return nil, err
	}
	argv := append(append([]string(nil), s.Argv...), "-addr", addr)
	if o.Procs > 1 {
		argv = append(argv, "-procs", strconv.Itoa(o.Procs))
	}
	srv, err := procstat.Start(ctx, s.Name, argv, o.ServerCPU, 20*time.Second)
	if err == nil && o.Procs > 1 {
		srv.Tree = true
	}
	return srv, err
}

// measure starts a fresh server, drives it with one scenario and computes
// the per-message figures over the measured window.
func measure(ctx context.Context, o options, s serverSpec, sc scenario) (measurement, error) {
	srv, err := startServer(ctx, o, s)
	if err != nil {
		return measurement{}, err
	}
	defer srv.Stop()
	var before, after procstat.Sample
	var genBefore, genAfter time.Duration
	var counter *procstat.SyscallCounter
	defer func() {
		if counter != nil {
			counter.Stop()
		}
	}()
	res, err := loadgen.Run(ctx, loadgen.Config{
		Addr:     srv.Addr,
		Conns:    sc.Conns,
		Payload:  sc.Payload,
		Depth:    sc.Depth,
		Rate:     float64(sc.Rate),
		Threads:  o.Procs,
		Warmup:   o.Warmup,
		Duration: o.Duration,
		OnStart: func() (err error) {
			if o.Perf && !srv.Tree {
				// Attached during the warm-up, when the server has
				// made the threads it needs: perf follows only the
				// threads that exist when it attaches.
				if counter, err = procstat.CountSyscalls(srv.PID, nil); err != nil {
					return err
				}
				if err = counter.Enable(); err != nil {
					return err
				}
			}
			genBefore, _ = selfCPU()
			before, err = srv.Sample()
			return err
		},
		OnEnd: func() (err error) {
			genAfter, _ = selfCPU()
			after, err = srv.Sample()
			if err == nil && counter != nil {
				err = counter.Disable()
			}
			return err
		},
	})
	if err != nil {
		if e := srv.Stderr(); e != "" {
			err = fmt.Errorf("%w (server said: %s)", err, e)
		}
		return measurement{}, err
	}
	if res.Messages == 0 {
		return measurement{}, errors.New("no message was echoed in the measured window")
	}
	msgs := float64(res.Messages)
	wall := after.At.Sub(before.At)
	m := measurement{
		Server:        s.Name,
		Scenario:      sc,
		Messages:      res.Messages,
		Elapsed:       res.Elapsed,
		Rate:          res.Rate(),
		P50:           res.Latency.Quantile(0.5),
		P99:           res.Latency.Quantile(0.99),
		CPUPerMsg:     float64(after.CPU-before.CPU) / msgs,
		AllocsPerMsg:  float64(after.Mallocs-before.Mallocs) / msgs,
		RWCallsPerMsg: float64(after.ReadCalls+after.WriteCalls-before.ReadCalls-before.WriteCalls) / msgs,
		GCs:           after.NumGC - before.NumGC,
		Tree:          srv.Tree,
	}
	if counter != nil {
		counts, err := counter.Stop()
		counter = nil
		if err != nil {
			return measurement{}, err
		}
		m.PerCall = map[string]float64{}
		for name, n := range counts {
			if name == procstat.TotalSyscalls {
				m.SyscallsPerMsg = float64(n) / msgs
			} else if n > 0 {
				m.PerCall[name] = float64(n) / msgs
			}
		}
		// perf misses the calls of threads made after it attached;
		// /proc counts every read and write, so compare the two.
		if rw := m.PerCall["read"] + m.PerCall["write"] + m.PerCall["readv"] + m.PerCall["writev"]; rw < 0.9*m.RWCallsPerMsg {
			o.Log.Warn("perf counted fewer reads and writes than /proc: the server made threads during the window, its syscall figures are low",
				"server", s.Name, "perf", rw, "proc", m.RWCallsPerMsg)
		}
	}
	if wall > 0 {
		m.ServerCPU = float64(after.CPU-before.CPU) / float64(wall)
		m.GenCPU = float64(genAfter-genBefore) / float64(wall)
	}
	return m, nil
}

// measureIdle opens o.Idle silent connections to a fresh server and
// divides the growth of its resident memory and Go heap by their number.
func measureIdle(ctx context.Context, o options, s serverSpec) (idleMeasurement, error) {
	srv, err := startServer(ctx, o, s)
	if err != nil {
		return idleMeasurement{}, err
	}
	defer srv.Stop()
	// One connection first, so that lazily made per-process state (the
	// read buffer, the first goroutine stacks) is not billed to the rest.
	warm, err := loadgen.OpenIdle(ctx, srv.Addr, 1, 64, 10*time.Second)
	if err != nil {
		return idleMeasurement{}, err
	}
	defer warm.Close()
	before, err := srv.Sample()
	if err != nil {
		return idleMeasurement{}, err
	}
	idle, err := loadgen.OpenIdle(ctx, srv.Addr, o.Idle, 64, 30*time.Second)
	if err != nil {
		return idleMeasurement{}, err
	}
	defer idle.Close()
	time.Sleep(200 * time.Millisecond)
	after, err := srv.Sample()
	if err != nil {
		return idleMeasurement{}, err
	}
	n := float64(idle.Len())
	return idleMeasurement{
		Server:      s.Name,
		Conns:       idle.Len(),
		RSSPerConn:  float64(after.RSS-before.RSS) / n,
		HeapPerConn: (float64(after.HeapInuse) - float64(before.HeapInuse)) / n,
	}, nil
}

// selfCPU returns the CPU time this process has used.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
