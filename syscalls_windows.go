package workerman

import (
	"errors"
	"net/netip"
	"time"
)

// The counterparts of syscalls_linux.go. On Windows connections are served
// through the net package (see worker_portable.go), so these fail.

var errNoDescriptors = errors.New("workerman: raw sockets are not supported on Windows")

func newSocket(int, int) (int, error) { return -1, errNoDescriptors }
func acceptSocket(int) (int, netip.AddrPort, string, error) {
	return -1, netip.AddrPort{}, "", errNoDescriptors
}
func newSocketpair(int) ([2]int, error)  { return [2]int{-1, -1}, errNoDescriptors }
func tcpQuiet(int) (time.Duration, bool) { return 0, false }
func unsentBytes(int) int                { return 0 }
func sendRoom(int) int                   { return 0 }
func peerUID(int) (int, error)           { return -1, errNoDescriptors }

// acceptedInheritsNoDelay: see syscalls_linux.go.
const acceptedInheritsNoDelay = false
