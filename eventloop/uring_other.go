//go:build !linux || workerman_portable

package eventloop

// Poller names the loop's poller: "kqueue", or "none" for a loop without
// a descriptor poller.
func (l *Loop) Poller() string { return pollerName }

// Completions reports whether the loop serves descriptors by completions;
// only io_uring on Linux does.
func (l *Loop) Completions() bool { return false }

// AddCompletionHandler returns ErrNoCompletions: this platform's loop
// serves readiness only.
func (l *Loop) AddCompletionHandler(fd int, h CompletionHandler) error { return ErrNoCompletions }

// Send reports false: this platform's loop serves readiness only.
func (l *Loop) Send(fd int, b []byte) bool { return false }

// SendInFlight reports false: this platform's loop serves readiness only.
func (l *Loop) SendInFlight(fd int) bool { return false }
