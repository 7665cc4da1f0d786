// Command globaldata is the manual's GlobalData example: the processes of
// a text worker share one variable through a GlobalData server. Each line
// a client sends is shown the value the previous line (from any process)
// left, then becomes the new value; a shared counter numbers the lines.
//
//	go build -o globaldata ./examples/globaldata
//	./globaldata start
//	printf 'hello\n' | nc 127.0.0.1 6636   # now somedata=null (line 1); set somedata="hello"
//	printf 'world\n' | nc 127.0.0.1 6636   # now somedata="hello" (line 2); set somedata="world"
package main

import (
	"flag"
	"fmt"
	"log"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/globaldata"
)

// newWorker creates the text worker; its processes connect to the
// GlobalData server at globalAddr.
func newWorker(address, globalAddr string) *workerman.Worker {
	w := workerman.NewWorker(address)
	w.Name = "somedata"
	var global *globaldata.Client
	w.OnWorkerStart = func(*workerman.Worker) {
		// One client per process, made on its loop.
		var err error
		if global, err = globaldata.Connect([]string{globalAddr}, nil); err != nil {
			log.Fatal(err)
		}
		global.Add("lines", 0, nil) // increment needs the key set
	}
	w.OnMessage = func(c *workerman.Connection, data any) {
		line := data.(string)
		// The callbacks run later on this process's loop; requests for one
		// key are performed in order, so the get sees the value before
		// this line's set.
		global.Get("somedata", func(old globaldata.Value, err error) {
			if err != nil {
				c.Send("error: " + err.Error())
				return
			}
			shown := "null"
			if old.Exists() {
				shown = old.String()
			}
			global.Set("somedata", line, nil)
			global.Increment("lines", 1, func(n int64, ok bool, err error) {
				if err != nil {
					c.Send("error: " + err.Error())
					return
				}
				c.Send(fmt.Sprintf("now somedata=%s (line %d); set somedata=%q", shown, n, line))
			})
		})
	}
	return w
}

func main() {
	listen := flag.String("listen", "text://0.0.0.0:6636", "address of the text worker")
	global := flag.String("global", globaldata.DefaultAddress, "address of the GlobalData server")
	flag.Parse()

	globaldata.NewServer(*global)
	w := newWorker(*listen, *global)
	w.Count = 4
	if err := workerman.RunAllArgs(flag.Args()); err != nil {
		log.Fatal(err)
	}
}
