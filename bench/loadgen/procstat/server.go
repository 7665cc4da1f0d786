// Package procstat measures a server process from outside while a load
// generator drives it: CPU time, read and write system calls and resident
// memory from /proc, and Go heap allocations reported by the server itself.
//
// A server under test takes part with two calls: Announce, once it listens,
// and ServeStats, which makes it print its runtime.MemStats figures on
// standard output whenever it receives SIGUSR1. The measuring side starts
// it with Start and reads figures with Server.Sample.
package procstat

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
)

// Line prefixes of the protocol between a server and Start.
const (
	readyPrefix = "READY "
	statsPrefix = "MEMSTATS "
)

var stdoutMu sync.Mutex

// Announce prints the line that tells Start the server listens on addr.
// Call it once the listening socket exists.
func Announce(addr string) {
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	fmt.Fprintf(os.Stdout, "%s%s\n", readyPrefix, addr)
}

// ServeStats makes the process print its allocation counters on standard
// output each time it receives SIGUSR1. It returns at once; the printing
// happens on a goroutine of its own.
func ServeStats() {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGUSR1)
	go func() {
		var ms runtime.MemStats
		for range ch {
			runtime.ReadMemStats(&ms)
			stdoutMu.Lock()
			fmt.Fprintf(os.Stdout, "%smallocs=%d frees=%d heapinuse=%d heapsys=%d numgc=%d\n",
				statsPrefix, ms.Mallocs, ms.Frees, ms.HeapInuse, ms.HeapSys, ms.NumGC)
			stdoutMu.Unlock()
		}
	}()
}
