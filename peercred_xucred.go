//go:build darwin || freebsd

package workerman

import "golang.org/x/sys/unix"

// peerUID returns the user id of the process at the other end of the Unix
// socket fd (LOCAL_PEERCRED).
func peerUID(fd int) (int, error) {
	const solLocal = 0 // SOL_LOCAL
	cred, err := unix.GetsockoptXucred(fd, solLocal, unix.LOCAL_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}
