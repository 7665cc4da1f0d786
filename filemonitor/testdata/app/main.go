// Command app is the program the filemonitor tests build: a text worker
// answering "ping" with "pong <version> <pid>", and a FileMonitor.
//
//	FM_PIDFILE, FM_STDOUT    workerman.PidFile, StdoutFile
//	FM_ADDR                  the text worker's address
//	FM_DIR                   directory the monitor watches
//	FM_EXT                   comma-separated extensions to watch
//	FM_POLL=1                poll modification times (every 100ms) instead of inotify
package main

import (
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/filemonitor"
)

var version = "v1"

func main() {
	workerman.PidFile = os.Getenv("FM_PIDFILE")
	workerman.StdoutFile = os.Getenv("FM_STDOUT")

	w := workerman.NewWorker(os.Getenv("FM_ADDR"))
	w.Name = "app"
	w.OnMessage = func(c *workerman.Connection, data any) {
		c.Send(fmt.Sprintf("pong %s %d", version, os.Getpid()))
	}

	opts := filemonitor.Options{Delay: 100 * time.Millisecond}
	if d := os.Getenv("FM_DIR"); d != "" {
		opts.Dirs = []string{d}
	}
	if os.Getenv("FM_POLL") == "1" {
		opts.Poll, opts.PollInterval = true, 100*time.Millisecond
	}
	if x := os.Getenv("FM_EXT"); x != "" {
		opts.Extensions = strings.Split(x, ",")
	}
	if _, err := filemonitor.New(opts); err != nil {
		log.Fatal(err)
	}
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
