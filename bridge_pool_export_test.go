package workerman

import "time"

// SetAsyncIdle changes how long an idle pool goroutine waits before it
// exits, and returns a function that restores it.
func SetAsyncIdle(d time.Duration) (restore func()) {
	old := asyncIdle.Swap(int64(d))
	return func() { asyncIdle.Store(old) }
}
