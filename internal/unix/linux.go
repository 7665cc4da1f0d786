//go:build linux

package unix

import "golang.org/x/sys/unix"

// inotify and statfs, which only Linux has in this form (see nolinux.go).

type Statfs_t = unix.Statfs_t

const (
	IN_ATTRIB          = unix.IN_ATTRIB
	IN_CLOEXEC         = unix.IN_CLOEXEC
	IN_CLOSE_WRITE     = unix.IN_CLOSE_WRITE
	IN_CREATE          = unix.IN_CREATE
	IN_DELETE          = unix.IN_DELETE
	IN_DELETE_SELF     = unix.IN_DELETE_SELF
	IN_IGNORED         = unix.IN_IGNORED
	IN_ISDIR           = unix.IN_ISDIR
	IN_MODIFY          = unix.IN_MODIFY
	IN_MOVED_FROM      = unix.IN_MOVED_FROM
	IN_MOVED_TO        = unix.IN_MOVED_TO
	IN_NONBLOCK        = unix.IN_NONBLOCK
	IN_ONLYDIR         = unix.IN_ONLYDIR
	IN_Q_OVERFLOW      = unix.IN_Q_OVERFLOW
	SizeofInotifyEvent = unix.SizeofInotifyEvent
)

func InotifyInit1(flags int) (int, error) { return unix.InotifyInit1(flags) }
func InotifyAddWatch(fd int, path string, mask uint32) (int, error) {
	return unix.InotifyAddWatch(fd, path, mask)
}
func Statfs(path string, st *Statfs_t) error { return unix.Statfs(path, st) }
