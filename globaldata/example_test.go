package globaldata_test

import (
	"context"
	"fmt"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/globaldata"
)

// startServer runs a GlobalData server inside this process and returns its
// address, so that the examples can run; a program creates the server
// before RunAll instead (see ExampleNewServer).
func startServer() string {
	s := globaldata.NewServer("127.0.0.1:0")
	workerman.StartLoop()
	addr := make(chan string)
	workerman.Post(func() {
		if err := s.Worker.Listen(); err != nil {
			panic(err)
		}
		addr <- s.Worker.Addr().String()
	})
	return <-addr
}

// A plain Go program (a cron job, an admin tool) uses Dial and the
// blocking calls: the manual's complete usage.
func Example() {
	addr := startServer()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	global, err := globaldata.Dial(ctx, []string{addr}, nil)
	if err != nil {
		panic(err)
	}
	defer global.Close()

	set, _ := global.IssetContext(ctx, "abc")
	fmt.Println("isset:", set)

	global.SetContext(ctx, "abc", []int{1, 2, 3})
	v, _ := global.GetContext(ctx, "abc")
	var list []int
	v.Decode(&list)
	fmt.Println("abc:", list, "stored as", v)

	global.UnsetContext(ctx, "abc")
	added, _ := global.AddContext(ctx, "abc", 10)
	fmt.Println("add:", added)
	n, ok, _ := global.IncrementContext(ctx, "abc", 2)
	fmt.Println("increment:", n, ok)
	swapped, _ := global.CasContext(ctx, "abc", 12, 18)
	fmt.Println("cas:", swapped)
	// Output:
	// isset: false
	// abc: [1 2 3] stored as [1,2,3]
	// add: true
	// increment: 12 true
	// cas: true
}

// A worker process creates the server with its other workers, connects a
// client in OnWorkerStart, and uses the callback style in its callbacks:
// here every process of the worker counts requests in one shared variable.
func ExampleNewServer() {
	globaldata.NewServer("127.0.0.1:2207")

	w := workerman.NewWorker("text://0.0.0.0:6636")
	w.Count = 4
	var global *globaldata.Client
	w.OnWorkerStart = func(*workerman.Worker) {
		var err error
		global, err = globaldata.Connect([]string{"127.0.0.1:2207"}, nil)
		if err != nil {
			panic(err)
		}
		global.Add("requests", 0, nil) // increment needs the key set
	}
	w.OnMessage = func(c *workerman.Connection, data any) {
		global.Increment("requests", 1, func(n int64, ok bool, err error) {
			if err != nil {
				c.Send("error: " + err.Error())
				return
			}
			c.Send(fmt.Sprintf("request %d of all processes", n))
		})
	}
	workerman.RunAll()
}

// With several servers, each key lives on one of them (by CRC-32 of the
// key); every client lists the same servers in the same order.
func ExampleConnect_severalServers() {
	w := workerman.NewWorker("text://0.0.0.0:6636")
	var global *globaldata.Client
	w.OnWorkerStart = func(*workerman.Worker) {
		global, _ = globaldata.Connect([]string{"10.0.0.10:2207", "10.0.0.11:2207"}, &globaldata.Options{
			Timeout: 2 * time.Second,
		})
	}
	w.OnMessage = func(c *workerman.Connection, data any) {
		global.Set("last_message", data, nil)
	}
	workerman.RunAll()
}

// The manual's cas loop: read the list, change the copy, and store it only
// if no other process changed it in between; otherwise try again.
func ExampleClient_Cas() {
	addr := startServer()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	global, err := globaldata.Dial(ctx, []string{addr}, nil)
	if err != nil {
		panic(err)
	}
	defer global.Close()

	global.SetContext(ctx, "user_list", []int{1, 2, 3})
	for {
		old, err := global.GetContext(ctx, "user_list")
		if err != nil {
			panic(err)
		}
		var list []int
		old.Decode(&list)
		// old compares as exactly the bytes read.
		swapped, err := global.CasContext(ctx, "user_list", old, append(list, 4))
		if err != nil {
			panic(err)
		}
		if swapped {
			break
		}
	}
	v, _ := global.GetContext(ctx, "user_list")
	fmt.Println(v)
	// Output: [1,2,3,4]
}

// On the event loop, in a worker's callbacks, the callback style never
// blocks: the callback runs later, on the loop, with the result.
func ExampleClient_Increment() {
	addr := startServer()
	done := make(chan string)
	workerman.Post(func() { // as inside OnWorkerStart or OnMessage
		global, err := globaldata.Connect([]string{addr}, nil)
		if err != nil {
			panic(err)
		}
		global.Set("some_key", 0, nil)
		global.Increment("some_key", 1, func(n int64, ok bool, err error) {
			global.Increment("missing_key", 1, func(_ int64, missingOK bool, _ error) {
				done <- fmt.Sprintln(n, ok, err, missingOK)
				global.Close()
			})
		})
	})
	fmt.Print(<-done)
	// Output: 1 true <nil> false
}
