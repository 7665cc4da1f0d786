// Command million opens up to a million WebSocket connections to one server
// program on this machine and reports what they cost: server RSS per
// connection, kernel socket memory, the connect rate, and the time one
// message takes to reach every connection through the push API.
//
//	million run -conns 1000000 -server-procs 60 -client-procs 60
//	million compare -conns 50000 -server-procs 4 -client-procs 4 -rounds 3
//
// run drives this framework's server (a WebSocket worker with
// -server-procs processes, a channel server and a control worker that
// answers "all" with push.Hub.SendToAll). compare measures the connect rate
// and memory of that server and of gws (github.com/lxzan/gws on net/http,
// the same number of processes sharing the port with SO_REUSEPORT) in
// alternating rounds and prints median same-round ratios.
//
// A process may hold at most 20,000 open files here, so the server spreads
// the connections over its processes and the clients over theirs; the
// clients connect from -sources loopback addresses 127.0.1.1, 127.0.1.2, …,
// each with its own range of ports. As root, it widens the local port
// range and the accept backlogs for the run and puts them back afterwards.
// Everything stays on loopback, each phase has a time limit, and every
// process it started is stopped when it ends.
package main

import (
	"fmt"
	"os"
)

func main() {
	switch os.Getenv("MILLION_ROLE") {
	case "ours":
		exit(oursMain())
	case "gws":
		exit(gwsMain())
	}
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "client":
		exit(clientMain(os.Args[2:]))
	case "run":
		exit(runMain(os.Args[2:], false))
	case "compare":
		exit(runMain(os.Args[2:], true))
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: million run|compare [-conns N -server-procs P -client-procs C -sources S -rounds R]")
	os.Exit(2)
}

func exit(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "million:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
