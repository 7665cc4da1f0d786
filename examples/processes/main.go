// Command processes shows how a program is laid out when RunAll runs it as
// a master and worker processes, and the commands that manage it.
//
//	go build -o processes ./examples/processes
//	./processes start            # foreground; Ctrl-C stops
//	./processes start -d         # daemon
//	./processes status           # processes, connections, requests, qps
//	./processes connections      # one row per client connection
//	./processes reload           # roll out a rebuilt binary, one process at a time
//	./processes stop -g          # let connections finish, then stop
//
// Then: printf 'hello\n' | nc 127.0.0.1 2345
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/filemonitor"
)

func main() {
	// Everything before RunAll runs in every process: the master, each of
	// the four worker processes, and every command such as status. Create
	// workers and set fields here; open nothing.
	addr := flag.String("listen", "text://0.0.0.0:2345", "address to serve")
	watch := flag.Bool("watch", false, "reload when the binary is rebuilt (debug mode only)")
	flag.Parse()

	workerman.StdoutFile = "/tmp/processes.stdout.log" // daemon output
	workerman.StopTimeout = 3 * time.Second

	w := workerman.NewWorker(*addr)
	w.Name = "echo"
	w.Count = 4 // four processes share one accept queue

	// Per-process state lives in OnWorkerStart, once per process: this is
	// where database handles, timers and outbound connections belong.
	var served int
	w.OnWorkerStart = func(w *workerman.Worker) {
		fmt.Printf("process %d is echo #%d\n", os.Getpid(), w.ID)
		if w.ID == 0 {
			// Only one process of the four runs the periodic job.
			workerman.Timer.Add(time.Minute, func() { fmt.Println("echo #0 served", served) })
		}
	}
	w.OnMessage = func(c *workerman.Connection, data any) {
		served++
		c.Send(fmt.Sprintf("#%d (pid %d): %s", w.ID, os.Getpid(), data))
	}
	w.OnWorkerReload = func(w *workerman.Worker) {
		fmt.Printf("echo #%d is being replaced\n", w.ID)
	}

	if *watch {
		if _, err := filemonitor.New(filemonitor.Options{}); err != nil {
			log.Fatal(err)
		}
	}

	// The program's own flags were parsed above; RunAllArgs gets the rest
	// (start, stop -g, ...).
	if err := workerman.RunAllArgs(flag.Args()); err != nil {
		log.Fatal(err)
	}
}
