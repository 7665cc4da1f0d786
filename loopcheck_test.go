package workerman_test

import (
	"net"
	"runtime"
	"strings"
	"testing"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// A connection method called from a goroutine other than the loop's
// panics on that goroutine, naming workerman.Post; called through Post it
// works.
func TestConnectionMethodsOffLoopPanic(t *testing.T) {
	if !eventloop.OwnerKnown() {
		t.Skipf("the loop-ownership check is not made on %s", runtime.GOARCH)
	}
	connCh := make(chan *workerman.Connection, 1)
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnConnect = func(c *workerman.Connection) { connCh <- c }
	addr := wmtest.Serve(t, w)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	conn := <-connCh

	offLoop := func(name string, f func()) {
		t.Helper()
		defer func() {
			r := recover()
			msg, _ := r.(string)
			if r == nil {
				t.Errorf("%s from a test goroutine did not panic", name)
			} else if !strings.Contains(msg, "Connection."+name) || !strings.Contains(msg, "workerman.Post") {
				t.Errorf("%s panicked with %q, want the method and workerman.Post named", name, msg)
			}
		}()
		f()
	}
	offLoop("Send", func() { conn.Send("hello") })
	offLoop("SendRaw", func() { conn.SendRaw("hello\n") })
	offLoop("PauseRecv", conn.PauseRecv)
	offLoop("ResumeRecv", conn.ResumeRecv)
	offLoop("Close", func() { conn.Close() })
	offLoop("Destroy", conn.Destroy)

	// Nothing was sent or changed by the refused calls; through Post the
	// same call works.
	wmtest.Do(func() {
		if conn.Status() != workerman.StatusEstablished || conn.IsPaused() {
			t.Errorf("refused calls changed the connection: status %d paused %v", conn.Status(), conn.IsPaused())
		}
		conn.Send("on the loop")
	})
	buf := make([]byte, 64)
	n, err := nc.Read(buf)
	if err != nil || string(buf[:n]) != "on the loop\n" {
		t.Fatalf("read %q, %v; want only the message sent on the loop", buf[:n], err)
	}
}

// OffLoop tells the loop's goroutine from the others, and reports nothing
// while the loop does not run.
func TestLoopOffLoop(t *testing.T) {
	if !eventloop.OwnerKnown() {
		t.Skipf("the loop-ownership check is not made on %s", runtime.GOARCH)
	}
	l, err := eventloop.New()
	if err != nil {
		t.Fatal(err)
	}
	if l.OffLoop() {
		t.Error("OffLoop before Run = true")
	}
	go l.Run()
	res := make(chan bool, 1)
	l.Post(func() { res <- l.OffLoop() })
	if <-res {
		t.Error("OffLoop on the loop = true")
	}
	if !l.OffLoop() {
		t.Error("OffLoop from the test goroutine while the loop runs = false")
	}
	l.Stop()
	<-l.Done()
	if l.OffLoop() {
		t.Error("OffLoop after the loop ended = true")
	}
}
