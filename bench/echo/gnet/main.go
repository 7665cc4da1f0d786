// Command gnet is the TCP echo server of the echo benchmark built on gnet
// v2 with a single event loop (WithMulticore(false)), or with -procs N, N
// loops in one process (WithMulticore(true)).
//
//	gnet -addr 127.0.0.1:9002
//
// It prints "READY <addr>" once it listens and its allocation counters on
// SIGUSR1 (see package procstat).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"
	"github.com/workerman-go/workerman/bench/loadgen/procstat"
)

type echo struct {
	gnet.BuiltinEventEngine
	addr     string
	announce bool // print the READY line of package procstat on boot
}

func (e *echo) OnBoot(gnet.Engine) gnet.Action {
	if e.announce {
		procstat.Announce(e.addr)
	}
	return gnet.None
}

func (e *echo) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	c.Write(buf)
	return gnet.None
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9002", "address to listen on (a fixed port: gnet does not tell the port it chose)")
	procs := flag.Int("procs", 1, "event loops; above 1 gnet runs multicore with this many loops")
	flag.Parse()
	procstat.ServeStats()
	err := gnet.Run(&echo{addr: *addr, announce: true}, "tcp://"+*addr,
		gnet.WithMulticore(*procs > 1),
		gnet.WithNumEventLoop(*procs),
		gnet.WithLogLevel(logging.ErrorLevel))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gnet:", err)
		os.Exit(1)
	}
}
