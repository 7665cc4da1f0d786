package workerman_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/workerman-go/workerman"
)

// A query per request through a bounded pool: at most 16 queries run and
// 64 wait; past that the client is told to retry instead of waiting behind
// a slow database. The query's context ends when the client disconnects.
func ExampleAsyncOn() {
	var db *sql.DB // opened in OnWorkerStart, one pool per process
	dbPool := &workerman.AsyncPool{Workers: 16, Queue: 64, Timeout: 2 * time.Second}
	w := workerman.NewWorker("text://0.0.0.0:1234")
	w.OnMessage = func(c *workerman.Connection, data any) {
		err := workerman.AsyncOn(dbPool, c, func(ctx context.Context) (string, error) {
			var name string
			err := db.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", data).Scan(&name)
			return name, err
		}, func(name string, err error) {
			if err != nil {
				c.Send("error: " + err.Error())
				return
			}
			c.Send("hello " + name)
		})
		if errors.Is(err, workerman.ErrAsyncBusy) {
			c.Send("busy, try again")
		}
	}
}

// AsyncFor runs work on DefaultAsyncPool and delivers the result on the
// loop, where it is safe to touch connections and the worker's state.
func ExampleAsyncFor() {
	workerman.StartLoop()
	result := make(chan string)
	workerman.Post(func() {
		err := workerman.AsyncFor(nil, func(ctx context.Context) (string, error) {
			return strings.ToUpper("blocking work"), nil // runs on a pool goroutine
		}, func(s string, err error) {
			result <- s // runs on the loop
		})
		if err != nil {
			result <- err.Error()
		}
	})
	fmt.Println(<-result)
	// Output: BLOCKING WORK
}
