package procstat

import (
	"context"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/workerman-go/workerman/bench/loadgen"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// With PROCSTAT_TEST_SERVER set, the test binary is an echo server that
// takes part in the procstat protocol, for the tests below to start.
func TestMain(m *testing.M) {
	switch os.Getenv("PROCSTAT_TEST_SERVER") {
	case "echo":
		ServeStats()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.Exit(3)
		}
		Announce(ln.Addr().String())
		for {
			c, err := ln.Accept()
			if err != nil {
				os.Exit(3)
			}
			// Plain reads and writes: io.Copy would splice, which
			// the tests below do not count as reads and writes.
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	case "silent":
		// Announces but never answers SIGUSR1 (it ignores it).
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.Exit(3)
		}
		Announce(ln.Addr().String())
		signal.Ignore(syscall.SIGUSR1)
		select {}
	case "parent":
		// The echo server as a child of this process, which stops it on
		// SIGTERM: a tree of two processes.
		exe, _ := os.Executable()
		child := exec.Command(exe, "-test.run=^$")
		child.Env = append(os.Environ(), "PROCSTAT_TEST_SERVER=echo")
		child.Stdout, child.Stderr = os.Stdout, os.Stderr
		child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		if err := child.Start(); err != nil {
			os.Exit(3)
		}
		<-sig
		child.Process.Kill()
		child.Wait()
		os.Exit(0)
	case "fail":
		os.Stderr.WriteString("cannot listen: no reason\n")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func selfServer(t *testing.T, mode string) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROCSTAT_TEST_SERVER", mode)
	return []string{exe, "-test.run=^$"}
}

func TestStartSampleStop(t *testing.T) {
	ctx := context.Background()
	srv, err := Start(ctx, "echo", selfServer(t, "echo"), "0", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if !strings.HasPrefix(srv.Addr, "127.0.0.1:") || srv.PID <= 0 {
		t.Fatalf("addr %q pid %d", srv.Addr, srv.PID)
	}
	before, err := srv.Sample()
	if err != nil {
		t.Fatal(err)
	}
	res, err := loadgen.Run(ctx, loadgen.Config{Addr: srv.Addr, Conns: 4, Payload: 512, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	after, err := srv.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if after.RSS <= 0 || after.Mallocs == 0 || after.HeapSys == 0 {
		t.Errorf("sample %+v lacks memory figures", after)
	}
	if after.Mallocs < before.Mallocs || after.CPU < before.CPU {
		t.Errorf("counters went backwards: %+v -> %+v", before, after)
	}
	// Every echoed batch took at least one read and one write.
	batches := res.Messages
	if reads := after.ReadCalls - before.ReadCalls; reads < batches {
		t.Errorf("%d read calls for %d echoed messages", reads, batches)
	}
	if writes := after.WriteCalls - before.WriteCalls; writes < batches {
		t.Errorf("%d write calls for %d echoed messages", writes, batches)
	}
	if after.CPU == before.CPU {
		t.Errorf("no CPU time over %d echoes", batches)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Sample(); err == nil {
		t.Fatal("Sample of a stopped server succeeded")
	}
}

// TestSampleTree measures a server that is the child of the started
// process: its system calls and CPU time count in the tree's sample.
func TestSampleTree(t *testing.T) {
	ctx := context.Background()
	srv, err := Start(ctx, "parent", selfServer(t, "parent"), "", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if pids := Descendants(srv.PID); len(pids) != 2 || pids[0] != srv.PID {
		t.Fatalf("Descendants(%d) = %v, want the process and its child", srv.PID, pids)
	}
	before := SampleTree(srv.PID)
	res, err := loadgen.Run(ctx, loadgen.Config{Addr: srv.Addr, Conns: 4, Payload: 512, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	after := SampleTree(srv.PID)
	if reads := after.ReadCalls - before.ReadCalls; reads < res.Messages {
		t.Errorf("%d read calls in the tree for %d echoed messages", reads, res.Messages)
	}
	if writes := after.WriteCalls - before.WriteCalls; writes < res.Messages {
		t.Errorf("%d write calls in the tree for %d echoed messages", writes, res.Messages)
	}
	// TreeCPU counts the same time, to the nanosecond: never less than
	// Sample's figure, which is rounded down to 10 ms steps and may lag.
	if cpu := TreeCPU(srv.PID); cpu < after.CPU || cpu > 2*after.CPU+100*time.Millisecond {
		t.Errorf("TreeCPU %v, Sample's CPU %v", cpu, after.CPU)
	}
	if after.CPU <= before.CPU || after.RSS <= 0 {
		t.Errorf("tree sample lacks CPU or memory: %+v -> %+v", before, after)
	}
	if after.Mallocs != 0 {
		t.Errorf("tree sample has heap figures: %+v", after)
	}
	// The parent itself only waits: the counts are its child's.
	if r, w, err := readIO(srv.PID); err != nil || r+w >= res.Messages {
		t.Errorf("the parent alone made %d+%d read and write calls (%v)", r, w, err)
	}
	srv.Stop()
	if gone := SampleTree(srv.PID); gone.ReadCalls != 0 || gone.CPU != 0 {
		t.Errorf("sample of a stopped tree: %+v", gone)
	}
}

// TestTreeCPUMatchesRusage compares TreeCPU of this process (without
// children now) with getrusage: the same count of nanoseconds, read in
// between two getrusage calls.
func TestTreeCPUMatchesRusage(t *testing.T) {
	for t0 := time.Now(); time.Since(t0) < 50*time.Millisecond; {
		os.Getpid()
	}
	rusage := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	before := rusage()
	cpu := TreeCPU(os.Getpid())
	after := rusage()
	if cpu < before || cpu > after {
		t.Errorf("TreeCPU %v outside getrusage's %v..%v", cpu, before, after)
	}
}

func TestParseSchedstat(t *testing.T) {
	type want struct {
		run time.Duration
		n   int64
	}
	for in, w := range map[string]want{
		"271407043 220473455 221\n": {271407043, 221},
		"":                          {},
		"x 1 2":                     {},
		"-5 1 2":                    {},
		"7 1":                       {7, 0},
		"7 1 -3":                    {7, 0},
	} {
		if run, n := parseSchedstat([]byte(in)); run != w.run || n != w.n {
			t.Errorf("parseSchedstat(%q) = %v, %d, want %v, %d", in, run, n, w.run, w.n)
		}
	}
}

func TestStartReportsEarlyExit(t *testing.T) {
	_, err := Start(context.Background(), "fail", selfServer(t, "fail"), "", 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "cannot listen: no reason") {
		t.Fatalf("err = %v, want the server's stderr", err)
	}
}

func TestStartTimesOut(t *testing.T) {
	_, err := Start(context.Background(), "sleep", []string{"sleep", "30"}, "", 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "did not announce") {
		t.Fatalf("err = %v", err)
	}
}

func TestSampleTimesOutWithoutStats(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 5 s")
	}
	srv, err := Start(context.Background(), "silent", selfServer(t, "silent"), "", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if _, err := srv.Sample(); err == nil || !strings.Contains(err.Error(), "ServeStats") {
		t.Fatalf("err = %v, want a hint at ServeStats", err)
	}
}

func TestCountSyscalls(t *testing.T) {
	wmtest.RequireTool(t, "perf")
	if err := SyscallCounterAvailable(); err != nil {
		// The test command mounts tracefs when it can and then says so.
		if os.Getenv("WORKERMAN_REQUIRE_TRACEFS") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx := context.Background()
	// perf follows the threads that exist when it attaches (the counts of
	// threads made later only show when they exit): pin the server to one
	// CPU and load it first, so that it has made its threads.
	srv, err := Start(ctx, "echo", selfServer(t, "echo"), "0", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if _, err := loadgen.Run(ctx, loadgen.Config{Addr: srv.Addr, Conns: 2, Payload: 64, Duration: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	c, err := CountSyscalls(srv.PID, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Load before Enable is not counted.
	if _, err := loadgen.Run(ctx, loadgen.Config{Addr: srv.Addr, Conns: 2, Payload: 64, Duration: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := c.Enable(); err != nil {
		t.Fatal(err)
	}
	res, err := loadgen.Run(ctx, loadgen.Config{Addr: srv.Addr, Conns: 2, Payload: 64, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Disable(); err != nil {
		t.Fatal(err)
	}
	counts, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	// Go's net reads until EAGAIN: at least one read and one write per
	// echo, and never more than a few calls per echo in all.
	n := res.Messages
	if counts["read"] < n || counts["write"] < n {
		t.Errorf("read %d write %d for %d echoes", counts["read"], counts["write"], n)
	}
	if counts["read"] > 3*n+100 || counts["write"] > n+100 {
		t.Errorf("read %d write %d for %d echoes: load outside the window counted", counts["read"], counts["write"], n)
	}
	if counts[TotalSyscalls] < counts["read"]+counts["write"] || counts[TotalSyscalls] > 10*n+1000 {
		t.Errorf("total %d for %d echoes (read %d, write %d)", counts[TotalSyscalls], n, counts["read"], counts["write"])
	}
}

func TestCountSyscallsNeedsPerf(t *testing.T) {
	if _, err := exec.LookPath("perf"); err == nil {
		t.Skip("perf is installed")
	}
	if _, err := CountSyscalls(os.Getpid(), nil); err == nil || !strings.Contains(err.Error(), "perf") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and a parenthesis must not shift fields.
	line := "1234 (my (odd) srv) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 3 0 100 1000000 200 18446744073709551615\n"
	d, err := parseStatCPU([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if d != 2800*time.Millisecond {
		t.Fatalf("cpu %v, want 2.8s (280 ticks)", d)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 x y"} {
		if _, err := parseStatCPU([]byte(bad)); err == nil {
			t.Errorf("parseStatCPU(%q) succeeded", bad)
		}
	}
}

func TestParseStats(t *testing.T) {
	var s Sample
	if err := parseStats("mallocs=10 frees=4 heapinuse=8192 heapsys=16384 numgc=2 future=1", &s); err != nil {
		t.Fatal(err)
	}
	if s.Mallocs != 10 || s.Frees != 4 || s.HeapInuse != 8192 || s.HeapSys != 16384 || s.NumGC != 2 {
		t.Fatalf("%+v", s)
	}
	for _, bad := range []string{"mallocs", "mallocs=x", "mallocs=-1"} {
		if err := parseStats(bad, &s); err == nil {
			t.Errorf("parseStats(%q) succeeded", bad)
		}
	}
}

func TestParsePerfCSV(t *testing.T) {
	out := "# started on Wed Nov 25 21:25:15 2026\n\n" +
		"123456,,raw_syscalls:sys_enter,5000000,100.00,,\n" +
		"60000,,syscalls:sys_enter_read,5000000,100.00,,\n" +
		"<not counted>,,syscalls:sys_enter_futex,0,100.00,,\n" +
		"7,,cycles,1,100.00,,\n"
	c, err := parsePerfCSV(out)
	if err != nil {
		t.Fatal(err)
	}
	if c[TotalSyscalls] != 123456 || c["read"] != 60000 || c["futex"] != 0 || len(c) != 3 {
		t.Fatalf("%v", c)
	}
	if _, err := parsePerfCSV("# nothing\n"); err == nil {
		t.Error("output without a total parsed")
	}
	if _, err := parsePerfCSV("abc,,raw_syscalls:sys_enter,1,100.00,,\n"); err == nil {
		t.Error("a non-numeric count parsed")
	}
}

func TestProcField(t *testing.T) {
	io := "rchar: 10\nwchar: 20\nsyscr: 3\nsyscw: 4\n"
	if v, err := procField([]byte(io), "syscw:"); err != nil || v != 4 {
		t.Fatalf("%d %v", v, err)
	}
	if _, err := procField([]byte(io), "VmRSS:"); err == nil {
		t.Fatal("missing field found")
	}
}

// TestTreeSchedstatCountsSwitches checks the switch count against
// sleeps: a thread that sleeps 20 times is switched onto a CPU at least 20
// more times.
func TestTreeSchedstatCountsSwitches(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_, before := TreeSchedstat(os.Getpid())
	for i := 0; i < 20; i++ {
		time.Sleep(time.Millisecond)
	}
	_, after := TreeSchedstat(os.Getpid())
	if after-before < 20 {
		t.Errorf("%d switches over 20 sleeps", after-before)
	}
}
