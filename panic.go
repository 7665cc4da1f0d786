package workerman

import (
	"fmt"
	"runtime/debug"

	"github.com/workerman-go/workerman/internal/counters"
)

// CrashOnPanic chooses what a panic in a callback does in a worker process.
//
// false (the default) is net/http's behaviour: the panic is recovered,
// logged at Error level with its stack (through the logger of SetLogger),
// counted (Stats.Panics, and the metrics' recovered panics), and the
// process goes on serving. A panic in a connection's callback (OnConnect,
// OnMessage, OnClose, OnBufferFull, OnBufferDrain, OnError, a protocol's
// hooks) closes that connection at once, unsent data discarded, as
// net/http closes the connection of a handler that panicked. A panic in a
// timer, a task given to Post, an Async done callback or a signal handler
// ends only that call.
//
// true is Workerman's behaviour: the panic ends the process (exit status
// 2, the stack on its standard error, which is StdoutFile for a daemon),
// and the master starts a new one, logging WORKER EXIT UNEXPECTED with
// the status. Every connection of that process is lost.
//
// The default keeps serving because a Go process typically holds
// thousands of connections in one process: one bad request should cost
// one connection, not all of them, and a restarted process cannot take
// its connections back. Crashing stays useful where state may be left
// half-changed by the panic and a fresh process is the safer answer; set
// CrashOnPanic to true before RunAll for that. A panic in OnWorkerStart
// always fails the start of its process, whatever CrashOnPanic says.
var CrashOnPanic bool

// installPanicHandler makes the process's loop recover panics, unless
// CrashOnPanic is set. It is called where the loop starts to run.
func installPanicHandler() {
	if CrashOnPanic {
		return
	}
	theProc().loop.SetPanicHandler(func(v any, stack []byte) {
		theProc().stats.Panics++
		logger().Error("panic in a callback; recovered, the process goes on", "panic", fmt.Sprint(v), "stack", string(stack))
	})
}

// catchPanic recovers a panic of c's callbacks: it logs it, counts it and
// closes c. It must be deferred directly.
func (c *Connection) catchPanic() {
	if CrashOnPanic {
		return
	}
	v := recover()
	if v == nil {
		return
	}
	theProc().stats.Panics++
	logger().Error("panic in a connection callback; recovered, closing the connection",
		"connection", c.ID, "remote", c.RemoteAddress(), "worker", workerName(c),
		"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	c.closeWhy = counters.ClosePanic
	c.destroy()
}

func workerName(c *Connection) string {
	if c.Worker == nil {
		return ""
	}
	return c.Worker.Name
}
