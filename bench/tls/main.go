// Command tls compares workerman's TLS transport (crypto/tls driven by the
// event loop) with a plain crypto/tls server over net (a goroutine per
// connection) and with nbio's non-blocking TLS (an event loop running a
// fork of crypto/tls): full-handshake rate, echo round trips of small
// messages, and bulk echo throughput. Workerman runs twice: as one
// process with one event loop ("workerman"), and as Workerman uses more
// cores, workerman.RunAll with Count = 2 worker processes sharing the
// listening socket ("workerman2").
//
// Each server runs in its own child process (workerman2 in its own process
// tree) so its CPU time, allocations and read/write system calls can be
// counted; all stay up for the whole run and are measured alternately,
// round after round, by the same client code in this process. The result
// is the median over the rounds of workerman's figure divided by each
// peer's.
//
//	cd bench && go run ./tls -rounds 7
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/workerman-go/workerman/internal/testcert"
)

var (
	serve      = flag.String("serve", "", "internal: run a server (workerman, workerman2, gotls or nbio)")
	certFile   = flag.String("cert", "", "internal: certificate file")
	keyFile    = flag.String("key", "", "internal: key file")
	addr       = flag.String("addr", "", "internal: the listening address of workerman2")
	dir        = flag.String("dir", "", "internal: the directory of workerman2's pid file, log and start marks")
	servers    = flag.String("servers", "workerman,workerman2,gotls,nbio", "servers to measure, comma-separated: workerman (one process, one event loop), workerman2 (workerman.RunAll, Count=2), gotls (crypto/tls over net), nbio")
	rounds     = flag.Int("rounds", 5, "measurement rounds")
	handshakes = flag.Int("handshakes", 1500, "full TLS handshakes per round and server")
	hsConc     = flag.Int("hs-conc", 8, "concurrent handshaking clients")
	conns      = flag.Int("conns", 50, "connections for the echo tests")
	echoes     = flag.Int("echoes", 400, "round trips per connection per round")
	msgSize    = flag.Int("msg", 512, "echo message size in bytes")
	bulkMB     = flag.Int("bulk-mb", 64, "MiB echoed per round in the bulk test (over 4 connections)")
	only       = flag.String("only", "", "run only the tests whose name contains this")
	profile    = flag.String("cpuprofile", "", "write each server's CPU profile to this prefix + server name (workerman2: one per worker process, prefix + workerman2.ID; not the master's)")
	memProfile = flag.String("memprofile", "", "write each server's allocation profile (every allocation sampled) to this prefix + server name (workerman2: per worker process, as -cpuprofile)")
)

func main() {
	flag.Parse()
	if *serve != "" {
		runServer(*serve)
		return
	}
	if err := drive(); err != nil {
		log.Fatal(err)
	}
}

// result is one measurement: a rate and the server's costs per operation.
type result struct {
	rate          float64 // operations (or MiB) per second
	cpuPerOp      float64 // server CPU time per operation, µs
	allocsPerOp   float64 // NaN if unknown
	syscallsPerOp float64
	switchesPerOp float64 // times a server thread was switched onto a CPU
	ops           int
	elapsed       time.Duration
	unit          string
}

type test struct {
	name  string
	unit  string
	conns int // connections opened (and handshaken) before the clock starts
	run   func(addr string, cfg *tls.Config, cs []*tls.Conn) (ops int, err error)
}

func drive() error {
	names := strings.Split(*servers, ",")
	for _, n := range names {
		if _, ok := serverLabels[n]; !ok {
			return fmt.Errorf("unknown server %q in -servers (known: workerman, workerman2, gotls, nbio)", n)
		}
	}
	tmp, err := os.MkdirTemp("", "wm-bench-tls-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ca, err := testcert.NewCA(tmp)
	if err != nil {
		return err
	}
	pair, err := ca.Server("server")
	if err != nil {
		return err
	}
	var srvs []*server
	for _, name := range names {
		s, err := start(name, pair.CertFile, pair.KeyFile)
		if err != nil {
			return err
		}
		defer s.stop()
		srvs = append(srvs, s)
	}
	cfg := &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"}
	tests := []test{
		{"handshake (full, ECDSA P-256, TLS 1.3)", "handshakes/s", 0, runHandshakes},
		{fmt.Sprintf("echo %d B round trips, %d conns", *msgSize, *conns), "round trips/s", *conns, runEcho},
		{fmt.Sprintf("bulk echo %d MiB, 4 conns", *bulkMB), "MiB/s", 4, runBulk},
	}
	fmt.Printf("TLS benchmark: %d rounds, GOMAXPROCS %d, %s\n\n", *rounds, runtime.GOMAXPROCS(0), runtime.Version())
	for _, tc := range tests {
		if !strings.Contains(tc.name, *only) {
			continue
		}
		res := make([][]result, len(srvs))
		for r := 0; r < *rounds; r++ {
			// Rotate the order every round, so no server always runs
			// first or last.
			for k := range srvs {
				i := (k + r) % len(srvs)
				x, err := measure(srvs[i], tc, cfg)
				if err != nil {
					return fmt.Errorf("%s on %s: %w", tc.name, srvs[i].name, err)
				}
				res[i] = append(res[i], x)
			}
		}
		report(tc, names, res)
	}
	return nil
}

func measure(s *server, tc test, cfg *tls.Config) (result, error) {
	var cs []*tls.Conn
	if tc.conns > 0 {
		var err error
		if cs, err = dialAll(s.addr, cfg, tc.conns); err != nil {
			return result{}, err
		}
		defer func() {
			for _, c := range cs {
				c.Close()
			}
		}()
	}
	runtime.GC()
	before, err := s.stats()
	if err != nil {
		return result{}, err
	}
	t0 := time.Now()
	ops, err := tc.run(s.addr, cfg, cs)
	el := time.Since(t0)
	if err != nil {
		return result{}, err
	}
	after, err := s.stats()
	if err != nil {
		return result{}, err
	}
	return result{
		rate:          float64(ops) / el.Seconds(),
		cpuPerOp:      perOp(before.cpuMicros, after.cpuMicros, ops),
		allocsPerOp:   perOp(before.mallocs, after.mallocs, ops),
		syscallsPerOp: perOp(before.syscalls, after.syscalls, ops),
		switchesPerOp: perOp(before.switches, after.switches, ops),
		ops:           ops,
		elapsed:       el,
		unit:          tc.unit,
	}, nil
}
