package workerman

// A Connection belongs to its process's event loop: its methods change state
// that only the loop's goroutine touches. Called from another goroutine they
// would race with the loop, which only a -race build reports. The methods
// that change a connection (Send, SendRaw, Close, Destroy, PauseRecv,
// ResumeRecv, Pipe) check instead, at the cost of an atomic load and a
// two-instruction call (see eventloop.Loop.OffLoop), and panic on the
// calling goroutine with a message that says how to do it right. The check
// works on amd64 and arm64; elsewhere it is not made.

// checkLoop panics if the caller is not the goroutine that runs c's loop.
func (c *Connection) checkLoop(method string) {
	if c.loop != nil && c.loop.OffLoop() {
		panicOffLoop(method)
	}
}

// panicOffLoop is kept out of line so that checkLoop stays small enough to
// be inlined.
//
//go:noinline
func panicOffLoop(method string) {
	panic("workerman: Connection." + method + " called from a goroutine other than the event loop's; " +
		"connections belong to the loop: hand the work to it with workerman.Post(func() { ... }) " +
		"(or use workerman.Async / AsyncFor, whose done callback runs on the loop)")
}
