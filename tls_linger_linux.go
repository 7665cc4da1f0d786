package workerman

import "golang.org/x/sys/unix"

// unsentBytes returns how many bytes the kernel still holds unacknowledged
// in the socket's send queue (0 when it cannot tell).
func unsentBytes(fd int) int {
	n, err := unix.IoctlGetInt(fd, unix.SIOCOUTQ)
	if err != nil {
		return 0
	}
	return n
}
