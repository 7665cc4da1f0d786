//go:build !linux

package unix

import (
	"errors"
	"fmt"
	"runtime"
)

// inotify and statfs fail here; the constants keep their Linux values,
// which are those of the inotify event format.

var errNoInotify = fmt.Errorf("inotify: %w on %s", errors.ErrUnsupported, runtime.GOOS)

// Statfs_t holds what the framework reads of a file system's statistics.
type Statfs_t struct{ Type int64 }

const (
	IN_ATTRIB          = 0x4
	IN_CLOEXEC         = 0x80000
	IN_CLOSE_WRITE     = 0x8
	IN_CREATE          = 0x100
	IN_DELETE          = 0x200
	IN_DELETE_SELF     = 0x400
	IN_IGNORED         = 0x8000
	IN_ISDIR           = 0x40000000
	IN_MODIFY          = 0x2
	IN_MOVED_FROM      = 0x40
	IN_MOVED_TO        = 0x80
	IN_NONBLOCK        = 0x800
	IN_ONLYDIR         = 0x1000000
	IN_Q_OVERFLOW      = 0x4000
	SizeofInotifyEvent = 0x10
)

func InotifyInit1(int) (int, error)                    { return -1, errNoInotify }
func InotifyAddWatch(int, string, uint32) (int, error) { return -1, errNoInotify }
func Statfs(string, *Statfs_t) error                   { return errNoInotify }
