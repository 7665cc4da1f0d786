package main

import (
	"bytes"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/workerman-go/workerman/bench/loadgen/procstat"
	"github.com/workerman-go/workerman/internal/testcert"
)

// The driver starts its servers by running its own executable with
// -serve: here the test binary, which then becomes that server.
func TestMain(m *testing.M) {
	flag.Parse()
	if *serve != "" {
		runServer(*serve)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// certs returns a server certificate and the client configuration that
// trusts it.
func certs(t *testing.T) (testcert.Pair, *tls.Config) {
	t.Helper()
	ca, err := testcert.NewCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.Server("server")
	if err != nil {
		t.Fatal(err)
	}
	return *pair, &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"}
}

// TestTreeServer starts workerman2 as the driver does, echoes through it,
// reads its counters from /proc, and stops it: no process of the tree and
// not its directory may remain.
func TestTreeServer(t *testing.T) {
	pair, cfg := certs(t)
	s, err := start("workerman2", pair.CertFile, pair.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			s.stop()
		}
	}()
	pids := procstat.Descendants(s.cmd.Process.Pid)
	if len(pids) != 1+treeCount {
		t.Fatalf("process tree %v: want the master and %d worker processes", pids, treeCount)
	}
	cs, err := dialAll(s.addr, cfg, 8)
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.stats()
	if err != nil {
		t.Fatal(err)
	}
	const echoes = 50
	ops, err := parallel8(cs, echoes)
	if err != nil {
		t.Fatal(err)
	}
	after, err := s.stats()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		c.Close()
	}
	if before.mallocs != -1 || after.mallocs != -1 {
		t.Errorf("allocations of a tree should be unknown (-1): %d, %d", before.mallocs, after.mallocs)
	}
	// Each round trip takes the server at least one read and one write.
	if d := after.syscalls - before.syscalls; d < int64(2*ops) {
		t.Errorf("%d read and write calls for %d round trips", d, ops)
	}
	if after.cpuMicros <= before.cpuMicros {
		t.Errorf("CPU time did not grow over %d round trips: %d -> %d µs", ops, before.cpuMicros, after.cpuMicros)
	}
	s.stop()
	stopped = true
	for _, pid := range pids {
		if b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline")); err == nil {
			t.Errorf("process %d of the tree still runs after stop: %q", pid, b)
		}
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("the tree's directory %s remains: %v", s.dir, err)
	}
	if _, err := s.stats(); err == nil {
		t.Error("stats of a stopped tree succeeded")
	}
}

// parallel8 echoes n messages of 512 bytes on every connection and
// returns the number of round trips.
func parallel8(cs []*tls.Conn, n int) (int, error) {
	msg := bytes.Repeat([]byte("m"), 512)
	err := parallel(cs, func(c *tls.Conn) error {
		buf := make([]byte, len(msg))
		for i := 0; i < n; i++ {
			if _, err := c.Write(msg); err != nil {
				return err
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				return err
			}
			if !bytes.Equal(buf, msg) {
				return fmt.Errorf("echo %q, want %q", buf[:8], msg[:8])
			}
		}
		return nil
	})
	return len(cs) * n, err
}

// TestDrive runs the whole benchmark, small, with a single-process server,
// the tree and a peer: every test reports every server, the tree's
// allocations as unknown, and no server process is left afterwards.
func TestDrive(t *testing.T) {
	set := func(p *int, v int) {
		old := *p
		*p = v
		t.Cleanup(func() { *p = old })
	}
	oldServers := *servers
	*servers = "workerman,workerman2,gotls"
	t.Cleanup(func() { *servers = oldServers })
	set(rounds, 2)
	set(handshakes, 20)
	set(conns, 8)
	set(echoes, 20)
	set(bulkMB, 2)

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	out := make(chan string)
	go func() { b, _ := io.ReadAll(r); out <- string(b) }()
	err = drive()
	os.Stdout = stdout
	w.Close()
	text := <-out
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	for _, want := range []string{"## handshake", "## echo 512 B", "## bulk echo 2 MiB",
		"rate, workerman2/workerman per round:", "server CPU per op, workerman2/crypto-tls:"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in the report:\n%s", want, text)
		}
	}
	rows := 0
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) != 6 || !strings.HasPrefix(f[0], "workerman") && f[0] != "crypto/tls" {
			continue
		}
		rows++
		if (f[3] == "-") != (f[0] == "workerman2") {
			t.Errorf("allocations column of %s: %q", f[0], f[3])
		}
		for _, i := range []int{1, 2, 4, 5} {
			if v, err := strconv.ParseFloat(f[i], 64); err != nil || !(v > 0) {
				t.Errorf("row %q: column %d is not a positive number", line, i+1)
			}
		}
	}
	if rows != 9 {
		t.Errorf("%d server rows, want 3 tests × 3 servers:\n%s", rows, text)
	}
	if left := ownProcesses(t); len(left) > 0 {
		t.Errorf("server processes left after the run: %v", left)
	}
}

// ownProcesses lists the other processes running this test binary.
func ownProcesses(t *testing.T) []int {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == self {
			pids = append(pids, pid)
		}
	}
	return pids
}
