// Package filemonitor reloads a Workerman program when its files change:
// the manual's FileMonitor component.
//
// A program runs the code it was started with until it is reloaded. In
// development that means running reload after every build; the file
// monitor does it for you. It is a worker of its own (a process named
// FileMonitor, with Reloadable false so that it keeps watching across
// reloads) that watches the program's executable and any directories you
// name, and asks the master for a reload when something changes. Because
// reload starts new processes from the binary on disk, rebuilding the
// program (go build -o app .) deploys the new code into the running
// service.
//
//	if _, err := filemonitor.New(filemonitor.Options{Dirs: []string{"templates"}}); err != nil {
//		log.Fatal(err)
//	}
//	workerman.RunAll()
//
// The monitor only works in debug mode (start, in the foreground). In
// daemon mode (start -d), the production mode, it stays idle unless
// Options.InDaemon is set, for the manual's reasons: a deployment copies
// many files, and a reload in the middle of it would load a half-written
// program; and an edit made on a production machine should go live only
// when someone decides so, with reload.
//
// Programs run with `go run` are rebuilt into a new temporary file each
// time, so watching the executable cannot see their changes: build to a
// fixed path instead.
//
// The monitor uses Linux inotify, on the process's event loop. Where
// inotify cannot see changes or cannot be used (network and FUSE file
// systems such as NFS, SMB, 9p and virtiofs shares, or when the inotify
// limits are reached) it polls modification times instead, every
// Options.PollInterval; Options.Poll forces polling.
package filemonitor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/unix"
)

// Options configure a file monitor. The zero value watches the executable
// only.
type Options struct {
	// Dirs are directories watched with all their subdirectories.
	Dirs []string
	// Extensions, when not empty, limits the files watched in Dirs to
	// those whose names end with one of them (".html", ".json").
	Extensions []string
	// SkipExecutable stops the monitor from watching the program's own
	// executable.
	SkipExecutable bool
	// Delay is how long files must stay unchanged after a change before
	// the reload, so that a build or a copy of several files completes
	// first. 0 means 500 milliseconds.
	Delay time.Duration
	// Graceful reloads as reload -g does.
	Graceful bool
	// InDaemon keeps the monitor working in daemon mode.
	InDaemon bool
	// Poll makes the monitor poll the files' modification times instead
	// of using inotify. It polls by itself where inotify cannot be used
	// or cannot see changes (see the package documentation).
	Poll bool
	// PollInterval is how often polling looks at the files; 0 means one
	// second. Each look lists the watched trees, so keep it modest for
	// large trees.
	PollInterval time.Duration
}

// Name is the name of the file monitor's worker.
const Name = "FileMonitor"

// New creates the file monitor's worker. Call it before RunAll, like
// every worker. It fails if a directory to watch does not exist.
func New(opts Options) (*workerman.Worker, error) {
	dirs := make([]string, 0, len(opts.Dirs))
	for _, d := range opts.Dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("filemonitor: %s: %w", d, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("filemonitor: directory to watch: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("filemonitor: %s is not a directory", abs)
		}
		dirs = append(dirs, abs)
	}
	if opts.Delay <= 0 {
		opts.Delay = 500 * time.Millisecond
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	opts.Dirs = dirs
	w := workerman.NewWorker("")
	w.Name = Name
	w.Count = 1
	w.Reloadable = false
	w.OnWorkerStart = func(w *workerman.Worker) {
		if workerman.Daemonize && !opts.InDaemon {
			workerman.Logger().Info("FileMonitor is off in daemon mode (set Options.InDaemon to watch anyway)")
			return
		}
		m, err := start(opts)
		if err != nil {
			workerman.Logger().Error("FileMonitor cannot watch", "err", err)
			return
		}
		w.OnWorkerStop = func(*workerman.Worker) { m.close() }
	}
	return w, nil
}

// monitor is the running watcher; it lives on the loop.
type monitor struct {
	opts    Options
	fd      int // inotify descriptor, -1 when polling
	exeDir  string
	exeName string
	dirs    map[int]string // watch descriptor -> directory
	timer   int
	changed string
	// reload asks for the reload (workerman.Reload).
	reload func(graceful bool) error

	// Polling (poll.go).
	pollTimer int
	snap      map[string]fileState
}

// inotifyInit creates the inotify descriptor (a variable for tests).
var inotifyInit = func() (int, error) { return unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC) }

const (
	exeMask = unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_CREATE | unix.IN_ATTRIB | unix.IN_MODIFY
	dirMask = unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_CREATE | unix.IN_DELETE |
		unix.IN_DELETE_SELF | unix.IN_ONLYDIR
)

// start starts watching: with inotify where it can, else by polling.
func start(opts Options) (*monitor, error) {
	m := &monitor{opts: opts, fd: -1, reload: workerman.Reload}
	if !opts.SkipExecutable {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		m.exeDir, m.exeName = filepath.Dir(exe), filepath.Base(exe)
	}
	why := "Options.Poll is set"
	if !opts.Poll {
		why = m.remoteFS()
	}
	if why == "" {
		err := m.startInotify()
		if err == nil {
			return m, nil
		}
		why = err.Error()
	}
	workerman.Logger().Info("FileMonitor polls modification times", "every", opts.PollInterval, "why", why)
	m.startPolling()
	return m, nil
}

// startInotify watches the files with inotify.
func (m *monitor) startInotify() error {
	fd, err := inotifyInit()
	if err != nil {
		return os.NewSyscallError("inotify_init1", err)
	}
	m.fd, m.dirs = fd, make(map[int]string)
	fail := func(err error) error {
		unix.Close(fd)
		m.fd, m.dirs = -1, nil
		return err
	}
	if m.exeDir != "" {
		wd, err := unix.InotifyAddWatch(fd, m.exeDir, exeMask)
		if err != nil {
			return fail(watchError(m.exeDir, err))
		}
		m.dirs[wd] = m.exeDir
	}
	for _, d := range m.opts.Dirs {
		if err := m.addTree(d); err != nil {
			return fail(err)
		}
	}
	if err := workerman.EventLoop().AddHandler(fd, eventloop.Readable, m); err != nil {
		return fail(err)
	}
	return nil
}

func watchError(dir string, err error) error {
	if errors.Is(err, unix.ENOSPC) {
		return fmt.Errorf("watch %s: %w (the inotify watch limit is reached: raise fs.inotify.max_user_watches)", dir, err)
	}
	return fmt.Errorf("watch %s: %w", dir, err)
}

// addTree watches dir and its subdirectories, skipping hidden ones.
func (m *monitor) addTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			return nil // vanished meanwhile
		}
		if !d.IsDir() {
			return nil
		}
		if path != dir && ignored(d.Name()) {
			return filepath.SkipDir
		}
		mask := uint32(dirMask)
		if path == m.exeDir {
			mask |= exeMask
		}
		wd, err := unix.InotifyAddWatch(m.fd, path, mask)
		if err != nil {
			return watchError(path, err)
		}
		m.dirs[wd] = path
		return nil
	})
}

// ignored tells names no change of which should reload: hidden files and
// directories (.git), and editors' temporary files.
func ignored(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") || strings.HasSuffix(name, ".swp") ||
		strings.HasSuffix(name, ".swx") || name == "4913"
}

// HandleEvent reads the inotify events of the loop round.
func (m *monitor) HandleEvent(fd int, ev eventloop.Event) {
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, buf)
		if err != nil || n <= 0 {
			return
		}
		evs, err := parseEvents(buf[:n])
		if err != nil {
			workerman.Logger().Error("FileMonitor: bad inotify data", "err", err)
			return
		}
		for _, e := range evs {
			m.event(e)
		}
	}
}

// event decides whether one change matters.
func (m *monitor) event(e event) {
	if e.mask&unix.IN_Q_OVERFLOW != 0 {
		m.touch("(many files)")
		return
	}
	dir, ok := m.dirs[int(e.wd)]
	if !ok {
		return
	}
	if e.mask&unix.IN_IGNORED != 0 {
		delete(m.dirs, int(e.wd))
		return
	}
	path := filepath.Join(dir, e.name)
	if dir == m.exeDir && e.name == m.exeName {
		m.touch(path)
		return
	}
	if e.name == "" || ignored(e.name) || !m.inDirs(dir) {
		return
	}
	if e.mask&unix.IN_ISDIR != 0 {
		if e.mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 {
			if err := m.addTree(path); err != nil {
				workerman.Logger().Error("FileMonitor cannot watch a new directory", "err", err)
			}
			m.touch(path)
		}
		return
	}
	if e.mask&(unix.IN_ATTRIB|unix.IN_MODIFY) != 0 && e.mask&^(unix.IN_ATTRIB|unix.IN_MODIFY|unix.IN_ISDIR) == 0 {
		// Only the executable's mode and writes matter; other files count
		// once they are closed or moved in place.
		return
	}
	if len(m.opts.Extensions) > 0 {
		match := false
		for _, x := range m.opts.Extensions {
			if strings.HasSuffix(e.name, x) {
				match = true
			}
		}
		if !match {
			return
		}
	}
	m.touch(path)
}

// inDirs reports whether dir is one of the watched trees (and not only the
// executable's directory).
func (m *monitor) inDirs(dir string) bool {
	for _, d := range m.opts.Dirs {
		if dir == d || strings.HasPrefix(dir, d+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// touch notes a change and reloads once things have been quiet for Delay.
func (m *monitor) touch(path string) {
	if m.changed == "" {
		m.changed = path
	}
	if m.timer != 0 {
		workerman.Timer.Del(m.timer)
	}
	m.timer = workerman.Timer.Once(m.opts.Delay, func() {
		m.timer = 0
		changed := m.changed
		m.changed = ""
		workerman.Logger().Info("FileMonitor: a file changed; reloading", "path", changed)
		if err := m.reload(m.opts.Graceful); err != nil {
			workerman.Logger().Error("FileMonitor cannot reload", "err", err)
		}
	})
}

func (m *monitor) close() {
	if m.timer != 0 {
		workerman.Timer.Del(m.timer)
		m.timer = 0
	}
	if m.pollTimer != 0 {
		workerman.Timer.Del(m.pollTimer)
		m.pollTimer = 0
	}
	if m.fd < 0 {
		return
	}
	l := workerman.EventLoop()
	if l.Watched(m.fd) {
		l.RemoveHandler(m.fd)
	}
	unix.Close(m.fd)
}

// event is one inotify event.
type event struct {
	wd     int32
	mask   uint32
	cookie uint32
	name   string
}

// errShortEvent reports an inotify buffer that ends inside an event.
var errShortEvent = errors.New("filemonitor: truncated inotify event")

// parseEvents decodes a buffer read from an inotify descriptor.
func parseEvents(b []byte) ([]event, error) {
	var evs []event
	for len(b) > 0 {
		if len(b) < unix.SizeofInotifyEvent {
			return evs, errShortEvent
		}
		wd := int32(binary.NativeEndian.Uint32(b[0:4]))
		mask := binary.NativeEndian.Uint32(b[4:8])
		cookie := binary.NativeEndian.Uint32(b[8:12])
		n := binary.NativeEndian.Uint32(b[12:16])
		b = b[unix.SizeofInotifyEvent:]
		if uint64(n) > uint64(len(b)) {
			return evs, errShortEvent
		}
		name := b[:n]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		evs = append(evs, event{wd: wd, mask: mask, cookie: cookie, name: string(name)})
		b = b[n:]
	}
	return evs, nil
}
