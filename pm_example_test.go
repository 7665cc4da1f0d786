//go:build linux

package workerman_test

import (
	"database/sql"
	"flag"
	"log"

	"github.com/workerman-go/workerman"
)

// A program run by RunAll executes main in every process: the master, each
// worker process, and each command (status, stop ...). Code before RunAll
// only creates workers; what each process needs for itself is opened in
// OnWorkerStart, which runs once in every worker process.
func ExampleRunAll() {
	workerman.PidFile = "/var/run/myapp.pid"
	workerman.LogFile = "/var/log/myapp.log"
	workerman.StdoutFile = "/var/log/myapp.stdout.log" // daemon output

	w := workerman.NewWorker("text://0.0.0.0:2345")
	w.Name = "api"
	w.Count = 4
	var db *sql.DB // one handle per process
	w.OnWorkerStart = func(w *workerman.Worker) {
		var err error
		if db, err = sql.Open("mysql", "user:pass@/app"); err != nil {
			log.Fatal(err)
		}
	}
	w.OnWorkerStop = func(w *workerman.Worker) { db.Close() }
	w.OnMessage = func(c *workerman.Connection, data any) {
		c.Send("ok")
	}

	// ./myapp start -d, ./myapp reload, ./myapp status --json, ...
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}

// Programs with flags of their own hand the rest of the command line to
// RunAllArgs: ./myapp -config prod.toml start -d. Worker processes are
// started with the same full command line, so they parse the same flags.
func ExampleRunAllArgs() {
	config := flag.String("config", "app.toml", "configuration file")
	flag.Parse()
	_ = config

	w := workerman.NewWorker("http://0.0.0.0:8080")
	w.Count = 2
	if err := workerman.RunAllArgs(flag.Args()); err != nil {
		log.Fatal(err)
	}
}
