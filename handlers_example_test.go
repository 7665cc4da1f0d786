package workerman_test

import (
	"bufio"
	"fmt"
	"net"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// A text worker whose handler takes a string: a handler taking another
// type would not be a text handler, and a typo such as data.(int) cannot
// happen.
func ExampleOnMessageOf() {
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnMessage = workerman.OnMessageOf(func(c *workerman.Connection, line string) {
		c.Send("you said " + line)
	})
	// In a program: workerman.RunAll(). Here the worker runs inside the
	// example's process.
	var addr string
	wmtest.Do(func() { w.Listen(); addr = w.Addr().String() })
	defer wmtest.Do(w.Stop)

	nc, err := net.Dial("tcp", addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	fmt.Fprint(nc, "hello\n")
	reply, _ := bufio.NewReader(nc).ReadString('\n')
	fmt.Print(reply)
	// Output: you said hello
}
