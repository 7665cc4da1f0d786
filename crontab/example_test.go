package crontab_test

import (
	"log"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/crontab"
)

// A worker of one process that runs the jobs, as Workerman's crontab
// examples do.
func ExampleNew() {
	w := workerman.NewWorker("")
	w.Name = "crontab"
	w.Count = 1
	w.OnWorkerStart = func(*workerman.Worker) {
		// Every 5 seconds.
		if _, err := crontab.New("*/5 * * * * *", func() { log.Print("tick") }); err != nil {
			log.Fatal(err)
		}
		// At 07:50 every day: five fields, the second is 0.
		report, err := crontab.New("50 7 * * *", func() { log.Print("daily report") })
		if err != nil {
			log.Fatal(err)
		}
		log.Print("next report at ", report.Next())
	}
	// workerman.RunAll()
}
