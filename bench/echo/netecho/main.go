// Command netecho is the TCP echo server of the echo benchmark built on the
// standard library's net package, one goroutine per connection. GOMAXPROCS
// is the runtime's default (the number of CPUs the process may use) unless
// the environment sets it.
//
//	netecho -addr 127.0.0.1:9003 -buf 8192
//
// It prints "READY <addr>" once it listens and its allocation counters on
// SIGUSR1 (see package procstat).
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"

	"github.com/workerman-go/workerman/bench/loadgen/procstat"
)

// serve accepts connections on ln and echoes each on its own goroutine
// through a buffer of bufSize bytes, until accepting fails; it returns
// that error.
func serve(ln net.Listener, bufSize int) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			buf := make([]byte, bufSize)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	bufSize := flag.Int("buf", 8192, "read buffer of each connection, in bytes")
	procs := flag.Int("procs", 0, "GOMAXPROCS (0: as the runtime sets it)")
	flag.Parse()
	if *procs > 0 {
		runtime.GOMAXPROCS(*procs)
	}
	if *bufSize < 1 {
		fmt.Fprintln(os.Stderr, "netecho: -buf must be at least 1")
		os.Exit(2)
	}
	procstat.ServeStats()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "netecho:", err)
		os.Exit(1)
	}
	procstat.Announce(ln.Addr().String())
	// serve returns only when accepting fails.
	fmt.Fprintln(os.Stderr, "netecho:", serve(ln, *bufSize))
	os.Exit(1)
}
