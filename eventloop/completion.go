package eventloop

import "errors"

// CompletionHandler is a Handler that can also take a connection's input
// and output as completions: "these bytes arrived", "this send finished",
// instead of "the socket is readable" or "writable". A loop running on
// io_uring (see Loop.Poller) serves descriptors registered with
// AddCompletionHandler this way; the loop receives into buffers of its own
// and sends what the handler hands to Send, and the handler makes no
// read or write system calls itself.
//
// HandleEvent still receives Hangup|Readable when the peer resets or the
// socket fails while the handler is not receiving (see ModifyHandler).
type CompletionHandler interface {
	Handler
	// HandleRecv delivers bytes received on fd. data belongs to the loop
	// and is valid only until HandleRecv returns. An empty data with a nil
	// err is the end of the input (the peer shut down its side); a non-nil
	// err is a failed receive.
	HandleRecv(fd int, data []byte, err error)
	// HandleSent reports the end of a send started with Send: n bytes of it
	// were written, or err says why the send failed.
	HandleSent(fd int, n int, err error)
}

// ErrNoCompletions is returned by AddCompletionHandler on a loop that does
// not serve descriptors by completions (Completions reports false).
var ErrNoCompletions = errors.New("eventloop: this loop's poller does not serve completions")

// PollerEnv is the environment variable that chooses a loop's poller when
// the loop is created: "io_uring" (or "uring") asks for io_uring, anything
// else, or nothing, means the readiness poller of the platform (epoll on
// Linux). A loop asked for io_uring where the kernel refuses it runs on
// epoll; Poller tells which one runs.
const PollerEnv = "WORKERMAN_POLLER"
