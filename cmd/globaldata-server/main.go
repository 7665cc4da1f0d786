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
	"fmt"
	"log"
	"os"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/globaldata"
)

func main() {
	listen := flag.String("listen", globaldata.DefaultAddress, "address to listen on: host:port, tcp://host:port or unix:///path")
	pidFile := flag.String("pidfile", "", "pid file of the master (default: in the temporary directory)")
	logFile := flag.String("logfile", "", "log file (default: beside the pid file)")
	stdoutFile := flag.String("stdoutfile", "", "output of the daemon (default: discarded)")
	maxPackage := flag.Int("max-package-size", 10<<20, "largest request in bytes, key and value together")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: %s [flags] start [-d] | stop [-g] | restart | reload | status | connections\n\nFlags:\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()

	if *pidFile != "" {
		workerman.PidFile = *pidFile
	}
	if *logFile != "" {
		workerman.LogFile = *logFile
	}
	workerman.StdoutFile = *stdoutFile

	s := globaldata.NewServer(*listen)
	s.MaxPackageSize = *maxPackage
	if err := workerman.RunAllArgs(flag.Args()); err != nil {
		log.Fatal(err)
	}
}
