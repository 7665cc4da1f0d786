// Package servercmd holds what the component server programs in cmd/ share:
// the flags of a Workerman program (where to listen, the pid, log and
// output files) and running it.
package servercmd

import (
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/workerman-go/workerman"
)

// Flags are the common flags; Listen is where the server listens.
type Flags struct {
	Listen                       *string
	pidFile, logFile, stdoutFile *string
}

// Define defines the common flags on the default flag set, with
// defaultAddr for -listen. Define the program's own flags, then call Run.
func Define(defaultAddr string) *Flags {
	return &Flags{
		Listen:     flag.String("listen", defaultAddr, "address to listen on: host:port, tcp://host:port or unix:///path"),
		pidFile:    flag.String("pidfile", "", "pid file of the master (default: in the temporary directory)"),
		logFile:    flag.String("logfile", "", "log file (default: beside the pid file)"),
		stdoutFile: flag.String("stdoutfile", "", "output of the daemon (default: discarded)"),
	}
}

// Parse parses the command line and applies the file flags.
func (f *Flags) Parse() {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: %s [flags] start [-d] | stop [-g] | restart | reload | status | connections\n\nFlags:\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if *f.pidFile != "" {
		workerman.PidFile = *f.pidFile
	}
	if *f.logFile != "" {
		workerman.LogFile = *f.logFile
	}
	workerman.StdoutFile = *f.stdoutFile
}

// Run runs the command that follows the flags (start, stop, status …).
func Run() {
	if err := workerman.RunAllArgs(flag.Args()); err != nil {
		log.Fatal(err)
	}
}
