// Command globaldata-server runs a GlobalData server (package globaldata)
// as a program of its own, for several programs or hosts that share
// variables. It is managed like every Workerman program:
//
//	globaldata-server [flags] start [-d]
//	globaldata-server [flags] stop | restart | reload | status | connections
//
// Flags (before the command; stop, status and the others need the same
// -pidfile as start):
//
//	-listen addr       where to listen: host:port, tcp://host:port or
//	                   unix:///path (default 127.0.0.1:2207, loopback: the
//	                   server has no authentication)
//	-pidfile path      the master's pid file (default: one in the
//	                   temporary directory named after this binary)
//	-logfile path      the framework's log (default: beside the pid file)
//	-stdoutfile path   the daemon's output (default: discarded)
//	-max-package-size  the largest request, key and value together, in
//	                   bytes (default 10 MiB)
//
// Clients connect with globaldata.Connect or globaldata.Dial. The variables
// live in the server's memory only: they are lost when it stops.
package main

import (
	"flag"

	"github.com/workerman-go/workerman/globaldata"
	"github.com/workerman-go/workerman/internal/servercmd"
)

func main() {
	common := servercmd.Define(globaldata.DefaultAddress)
	maxPackage := flag.Int("max-package-size", 10<<20, "largest request in bytes, key and value together")
	common.Parse()

	s := globaldata.NewServer(*common.Listen)
	s.MaxPackageSize = *maxPackage
	servercmd.Run()
}
