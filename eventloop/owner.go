package eventloop

import "runtime/debug"

// The loop records which goroutine runs it (the runtime's pointer to that
// goroutine, read by a few instructions of assembly on amd64 and arm64) so
// that code which must run on the loop can tell cheaply whether it does.
// The pointer is only compared, never dereferenced; it identifies the loop's
// goroutine for as long as Run runs, since that goroutine is alive all along.

// OffLoop reports whether the caller runs on a goroutine other than the one
// running the loop. It is false while the loop is not running (before Run,
// after it returns), and always false on architectures where the goroutine
// cannot be identified cheaply (those other than amd64 and arm64). It costs
// an atomic load and a function call of two instructions.
func (l *Loop) OffLoop() bool {
	o := l.owner.Load()
	return o != 0 && o != curg()
}

// OwnerKnown reports whether OffLoop can detect a call from another
// goroutine on this architecture.
func OwnerKnown() bool { return curg() != 0 }

// SetPanicHandler makes the loop survive panics: with a non-nil h, a panic
// in a descriptor's handler, a timer callback, a posted task or a signal
// handler is recovered, h is called on the loop with the panic's value and
// the stack of the goroutine where it happened, and the loop goes on with
// its other work. With nil (the default) a panic ends the program, as
// anywhere in Go. Call it before Run.
func (l *Loop) SetPanicHandler(h func(v any, stack []byte)) { l.panicH = h }

// catch recovers a panic for the panic handler, if there is one. It must
// be deferred directly: recover works only in the deferred function itself.
func (l *Loop) catch() {
	if l.panicH == nil {
		return
	}
	if v := recover(); v != nil {
		l.panicH(v, debug.Stack())
	}
}

// call runs f, recovering a panic for the panic handler.
func (l *Loop) call(f func()) {
	defer l.catch()
	f()
}
