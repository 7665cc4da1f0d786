package filemonitor

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/unix"
)

// Polling is the fallback where inotify cannot be used or cannot see
// changes: every PollInterval the monitor lists the executable and the
// watched trees and compares each file's modification time, size and
// inode with the previous look. The monitor runs in a process of its
// own, so the listing may take the loop for a moment.

// fileState is what polling compares.
type fileState struct {
	mtime time.Time
	size  int64
	ino   uint64
	mode  os.FileMode
}

func stateOf(fi os.FileInfo) fileState {
	st := fileState{mtime: fi.ModTime(), size: fi.Size(), mode: fi.Mode()}
	if sys, ok := fi.Sys().(*unix.Stat_t); ok {
		st.ino = sys.Ino
	}
	return st
}

// remoteFileSystems are file systems on which inotify sees only the
// changes made through this machine's kernel, if any.
var remoteFileSystems = map[int64]string{
	0x6969:     "nfs",
	0x517b:     "smb",
	0xff534d42: "cifs",
	0xfe534d42: "smb2",
	0x65735546: "fuse",
	0x01021997: "9p",
	0x6a656a63: "virtiofs",
	0x786f4256: "vboxsf",
}

// remoteFS returns why inotify cannot be trusted for the watched paths,
// or "".
func (m *monitor) remoteFS() string {
	paths := append([]string(nil), m.opts.Dirs...)
	if m.exeDir != "" {
		paths = append(paths, m.exeDir)
	}
	for _, p := range paths {
		var st unix.Statfs_t
		if unix.Statfs(p, &st) != nil {
			continue
		}
		if name, ok := remoteFileSystems[int64(st.Type)]; ok {
			return p + " is on a " + name + " file system, whose changes inotify may not see"
		}
	}
	return ""
}

// startPolling takes the first look and polls from then on.
func (m *monitor) startPolling() {
	m.snap = m.look()
	m.pollTimer = workerman.Timer.Add(m.opts.PollInterval, m.poll)
}

// poll compares a new look with the previous one.
func (m *monitor) poll() {
	now := m.look()
	var changed []string
	for p, st := range now {
		if old, ok := m.snap[p]; !ok || old != st {
			changed = append(changed, p)
		}
	}
	for p := range m.snap {
		if _, ok := now[p]; !ok {
			changed = append(changed, p)
		}
	}
	m.snap = now
	if len(changed) == 0 {
		return
	}
	// Name the executable if it is among the changes, else any file.
	first := changed[0]
	for _, p := range changed {
		if m.isExe(p) {
			first = p
		}
	}
	m.touch(first)
}

func (m *monitor) isExe(p string) bool {
	return m.exeDir != "" && p == filepath.Join(m.exeDir, m.exeName)
}

// look lists the files that count: the executable, and the files of the
// watched trees that inotify would report (not hidden, not editors'
// temporary files, with a watched extension).
func (m *monitor) look() map[string]fileState {
	files := make(map[string]fileState)
	if m.exeDir != "" {
		exe := filepath.Join(m.exeDir, m.exeName)
		if fi, err := os.Stat(exe); err == nil {
			files[exe] = stateOf(fi)
		}
	}
	for _, dir := range m.opts.Dirs {
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return nil // vanished meanwhile, or unreadable
			}
			if path != dir && ignored(d.Name()) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !m.wanted(d.Name()) || m.isExe(path) {
				return nil
			}
			if fi, err := d.Info(); err == nil {
				files[path] = stateOf(fi)
			}
			return nil
		})
	}
	return files
}

// wanted applies Options.Extensions.
func (m *monitor) wanted(name string) bool {
	if len(m.opts.Extensions) == 0 {
		return true
	}
	for _, x := range m.opts.Extensions {
		if strings.HasSuffix(name, x) {
			return true
		}
	}
	return false
}
