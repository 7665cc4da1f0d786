package main

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/workerman-go/workerman/globaldata"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// TestSomedata runs the server and two copies of the worker (as two of
// its processes would be) and sends lines through both.
func TestSomedata(t *testing.T) {
	global := wmtest.Serve(t, globaldata.NewServer("127.0.0.1:0").Worker)
	a := wmtest.Serve(t, newWorker("text://127.0.0.1:0", global))
	b := wmtest.Serve(t, newWorker("text://127.0.0.1:0", global))
	for _, tc := range []struct{ addr, line, want string }{
		{a, "hello", `now somedata=null (line 1); set somedata="hello"`},
		{b, "world", `now somedata="hello" (line 2); set somedata="world"`},
		{a, "again", `now somedata="world" (line 3); set somedata="again"`},
	} {
		c, err := net.Dial("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte(tc.line + "\n"))
		got, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || got != tc.want+"\n" {
			t.Fatalf("%s: %q %v, want %q", tc.line, got, err, tc.want)
		}
	}
}
