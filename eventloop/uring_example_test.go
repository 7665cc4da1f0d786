//go:build linux && !workerman_portable

package eventloop_test

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/workerman-go/workerman/eventloop"
)

// echo answers every byte it receives: it keeps what it has not yet seen
// sent, hands it to the loop, and sends the rest when a send ends.
type echo struct {
	l   *eventloop.Loop
	out []byte
}

func (e *echo) HandleEvent(fd int, ev eventloop.Event) {
	if ev&eventloop.Hangup != 0 {
		e.l.RemoveHandler(fd)
		unix.Close(fd)
	}
}

func (e *echo) HandleRecv(fd int, data []byte, err error) {
	if err != nil || len(data) == 0 {
		e.l.RemoveHandler(fd)
		unix.Close(fd)
		return
	}
	e.out = append(e.out, data...) // data belongs to the loop
	e.l.Send(fd, e.out)
}

func (e *echo) HandleSent(fd int, n int, err error) {
	if err != nil {
		return
	}
	e.out = e.out[n:]
	if len(e.out) > 0 {
		e.l.Send(fd, e.out)
	}
}

// A loop on io_uring serves a connection by completions; on epoll the same
// descriptor is registered with AddHandler and read when readable. The
// poller is chosen by the environment when the loop is created, typically
// WORKERMAN_POLLER=io_uring in the environment of the program.
func ExampleLoop_AddCompletionHandler() {
	os.Setenv(eventloop.PollerEnv, "io_uring")
	l, err := eventloop.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("poller:", l.Poller())
	// For each connection fd accepted on the loop:
	accepted := func(fd int) {
		if l.Completions() {
			l.AddCompletionHandler(fd, &echo{l: l})
		}
	}
	_ = accepted
}
