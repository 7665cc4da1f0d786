//go:build linux && !workerman_portable

package eventloop

import (
	"errors"
	"os"
)

func wantUring() bool {
	switch os.Getenv(PollerEnv) {
	case "io_uring", "uring":
		return true
	}
	return false
}

// Poller names the loop's poller: "epoll" or "io_uring".
func (l *Loop) Poller() string {
	if l.p.ring != nil {
		return "io_uring"
	}
	return "epoll"
}

// Completions reports whether the loop serves descriptors registered with
// AddCompletionHandler by completions (it runs on io_uring).
func (l *Loop) Completions() bool { return l.p.ring != nil }

// AddCompletionHandler registers a connected stream socket whose input and
// output h takes as completions: the loop starts receiving at once and
// delivers what arrives to h.HandleRecv. ModifyHandler with an event set
// without Readable stops receiving (input then stays in the kernel) and
// with Readable resumes it; Writable means nothing for such a descriptor,
// whose output goes through Send. RemoveHandler withdraws the requests in
// flight. It must be called on the loop goroutine, or before Run, and
// returns ErrNoCompletions when Completions reports false.
func (l *Loop) AddCompletionHandler(fd int, h CompletionHandler) error {
	if l.p.ring == nil {
		return ErrNoCompletions
	}
	if fd < 0 {
		return errors.New("eventloop: negative file descriptor")
	}
	gen := l.reserve(fd)
	l.p.ring.add(fd, gen, h)
	l.handlers[fd] = handlerSlot{h: h, gen: gen, ev: Readable}
	return nil
}

// Send starts sending b on fd, a descriptor registered with
// AddCompletionHandler. The loop hands the sends of a round to the kernel
// together when the round ends, and calls HandleSent when one finishes;
// b must stay unchanged until then. Calling Send again in the same round
// replaces the pending send with b, which must start with the same bytes
// (the caller appended to its buffer). Send reports false, and does
// nothing, while an earlier send is in the kernel's hands (the caller
// sends the rest after HandleSent), and for an empty b or a descriptor not
// registered with AddCompletionHandler.
func (l *Loop) Send(fd int, b []byte) bool {
	if len(b) == 0 || l.p.ring == nil || !l.p.ring.owns(fd) {
		return false
	}
	return l.p.ring.send(fd, b)
}

// SendInFlight reports whether the kernel holds a send of fd that has not
// finished: one handed over at the end of an earlier round whose
// completion has not arrived yet. A send still being prepared this round,
// or one whose completion waits to be dispatched, is not in flight. It
// tells a socket that could not take the last send whole (the peer reads
// slowly) from one that merely has this round's output waiting.
func (l *Loop) SendInFlight(fd int) bool {
	if l.p.ring == nil || !l.p.ring.owns(fd) {
		return false
	}
	return l.p.ring.inFlight(fd)
}
