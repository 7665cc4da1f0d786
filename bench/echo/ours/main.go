// Command ours is the TCP echo server of the echo benchmark built on this
// framework, echoing every chunk it receives.
//
//	ours -addr 127.0.0.1:9001            one worker on the process's event loop
//	ours -addr 127.0.0.1:9001 -procs 2   workerman.RunAll with Count = 2
//
// It prints "READY <addr>" once it listens (with -procs, once every worker
// process has started) and, with one process, its allocation counters on
// SIGUSR1 (see package procstat).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/bench/loadgen/procstat"
)

// newEchoWorker returns a worker that sends back every message it receives.
func newEchoWorker(addr string) *workerman.Worker {
	w := workerman.NewWorker("tcp://" + addr)
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(data) }
	return w
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	procs := flag.Int("procs", 1, "worker processes; above 1 the program runs as workerman.RunAll's master with Count worker processes")
	flag.Parse()
	if *procs > 1 || os.Getenv("ECHO_PROCS") != "" {
		runAll(*addr, *procs)
		return
	}
	procstat.ServeStats()
	w := newEchoWorker(*addr)
	workerman.Post(func() {
		if err := w.Listen(); err != nil {
			fmt.Fprintln(os.Stderr, "ours:", err)
			os.Exit(1)
		}
		procstat.Announce(w.Addr().String())
	})
	if err := workerman.EventLoop().Run(); err != nil {
		fmt.Fprintln(os.Stderr, "ours:", err)
		os.Exit(1)
	}
}

// runAll serves addr with procs worker processes under a master, as a
// program of the framework runs. The worker processes run main again, so
// the settings travel in the environment and the command line is "start".
func runAll(addr string, procs int) {
	if os.Getenv("ECHO_PROCS") == "" {
		dir, err := os.MkdirTemp("", "echo-ours-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "ours:", err)
			os.Exit(1)
		}
		os.Setenv("ECHO_PROCS", strconv.Itoa(procs))
		os.Setenv("ECHO_ADDR", addr)
		os.Setenv("ECHO_DIR", dir)
	}
	procs, _ = strconv.Atoi(os.Getenv("ECHO_PROCS"))
	dir := os.Getenv("ECHO_DIR")
	workerman.PidFile = filepath.Join(dir, "echo.pid")
	workerman.LogFile = filepath.Join(dir, "echo.log")
	os.Args = []string{os.Args[0], "start"}
	w := newEchoWorker(os.Getenv("ECHO_ADDR"))
	w.Count = procs
	w.OnWorkerStart = func(w *workerman.Worker) {
		// Each process leaves a mark; the last to start says READY, so
		// the load begins once every process accepts.
		os.WriteFile(filepath.Join(dir, "started."+strconv.Itoa(w.ID)), nil, 0o644)
		var check func()
		check = func() {
			for id := 0; id < w.Count; id++ {
				if _, err := os.Stat(filepath.Join(dir, "started."+strconv.Itoa(id))); err != nil {
					workerman.Timer.Once(10*time.Millisecond, check)
					return
				}
			}
			if w.ID == 0 {
				procstat.Announce(w.Addr().String())
			}
		}
		check()
	}
	w.OnWorkerStop = func(w *workerman.Worker) {
		if w.ID == 0 {
			os.RemoveAll(dir)
		}
	}
	if err := workerman.RunAll(); err != nil {
		fmt.Fprintln(os.Stderr, "ours:", err)
		os.Exit(1)
	}
}
