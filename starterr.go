package workerman

import (
	"errors"
	"fmt"
)

// ErrStoppedWhileStarting is the cause of a foreground start that a stop
// command or a signal ended before every worker process had started.
var ErrStoppedWhileStarting = errors.New("workerman: stopped while starting")

// startFailure is why the master of a foreground start in this process
// failed, for RunAll to return.
var startFailure error

// startFailed returns the error RunAll returns for a failed foreground
// start, or nil.
func startFailed() error {
	if startFailure == nil {
		return nil
	}
	return fmt.Errorf("workerman: start failed: %w", startFailure)
}
