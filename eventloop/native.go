//go:build (linux || darwin || freebsd || netbsd || openbsd || dragonfly) && !workerman_portable

package eventloop

// PollsDescriptors reports whether the loop watches file descriptors
// (epoll on Linux, kqueue on macOS and the BSDs). Where it is false,
// AddHandler returns ErrNoPoller and I/O must be done by goroutines that
// post to the loop.
const PollsDescriptors = true
