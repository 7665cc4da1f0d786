// Command ours is the TCP echo server of the echo benchmark built on this
// framework: one worker on the process's single event loop, echoing every
// chunk it receives.
//
//	ours -addr 127.0.0.1:9001
//
// It prints "READY <addr>" once it listens and its allocation counters on
// SIGUSR1 (see package procstat).
package main

import (
	"flag"
	"fmt"
	"os"

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
	flag.Parse()
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
