//go:build unix && !linux && !darwin && !freebsd

package workerman

import (
	"fmt"
	"runtime"
)

// peerUID fails: the control socket cannot tell who connected, so the
// master refuses commands (stop, reload, status) over it here.
func peerUID(int) (int, error) {
	return -1, fmt.Errorf("the identity of a control-socket peer cannot be read on %s", runtime.GOOS)
}
