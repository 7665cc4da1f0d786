package procstat

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultSyscalls are the system calls a SyscallCounter counts one by one
// when none are named: the ones an event-loop or goroutine server makes
// per message or per wake-up. Names missing from the running kernel are
// skipped.
var DefaultSyscalls = []string{
	"read", "write", "readv", "writev", "epoll_wait", "epoll_pwait", "epoll_pwait2",
	"epoll_ctl", "futex", "nanosleep", "sched_yield", "tgkill", "getpid", "accept4",
}

// TotalSyscalls is the key of the count of all system calls in the map
// returned by SyscallCounter.Stop.
const TotalSyscalls = "total"

// SyscallCounter counts the system calls of a running process with perf's
// syscall tracepoints, in windows opened by Enable and closed by Disable.
// It costs the process a few tens of nanoseconds per system call, unlike
// strace, which stops it at every call.
type SyscallCounter struct {
	cmd      *exec.Cmd
	ctl, ack *os.File
	out      string
	done     chan error
	names    []string // the per-call names perf counts
}

// SyscallCounterAvailable reports why counting is impossible here (no perf,
// no tracefs), or nil. When the tracepoints are missing because tracefs is
// not mounted and the process runs as root, it mounts tracefs first.
func SyscallCounterAvailable() error {
	if _, err := exec.LookPath("perf"); err != nil {
		return errors.New("perf is not installed (apt-get install linux-perf)")
	}
	if _, err := os.Stat(tracefsEvent("raw_syscalls/sys_enter")); err == nil {
		return nil
	}
	if err := MountTracefs(); err != nil {
		return err
	}
	if _, err := os.Stat(tracefsEvent("raw_syscalls/sys_enter")); err != nil {
		return fmt.Errorf("syscall tracepoints are not available although tracefs is mounted (kernel without CONFIG_FTRACE_SYSCALLS?): %w", err)
	}
	return nil
}

// TracefsDir is where the kernel's tracing file system is mounted.
const TracefsDir = "/sys/kernel/tracing"

// MountTracefs mounts tracefs on TracefsDir unless it is mounted already.
// It needs root (CAP_SYS_ADMIN); otherwise its error says what to run.
func MountTracefs() error {
	if _, err := os.Stat(TracefsDir + "/events"); err == nil {
		return nil
	}
	err := syscall.Mount("nodev", TracefsDir, "tracefs", 0, "")
	if err == nil {
		return nil
	}
	return fmt.Errorf("syscall tracepoints are not available: tracefs is not mounted on %s and mounting it failed (%v); as root, run: mount -t tracefs nodev %s", TracefsDir, err, TracefsDir)
}

func tracefsEvent(name string) string {
	for _, root := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		p := root + "/events/" + name
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "/sys/kernel/tracing/events/" + name
}

// CountSyscalls attaches perf to every thread of pid, counting the total
// and each of names (DefaultSyscalls if nil), with counting off until
// Enable.
func CountSyscalls(pid int, names []string) (*SyscallCounter, error) {
	if err := SyscallCounterAvailable(); err != nil {
		return nil, err
	}
	if names == nil {
		names = DefaultSyscalls
	}
	events := []string{"raw_syscalls:sys_enter"}
	var kept []string
	for _, n := range names {
		if _, err := os.Stat(tracefsEvent("syscalls/sys_enter_" + n)); err == nil {
			events = append(events, "syscalls:sys_enter_"+n)
			kept = append(kept, n)
		}
	}
	out, err := os.CreateTemp("", "perf-syscalls-*.csv")
	if err != nil {
		return nil, err
	}
	out.Close()
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	ackR, ackW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, err
	}
	cmd := exec.Command("perf", "stat", "-x,", "-D", "-1", "--control", "fd:3,4",
		"-o", out.Name(), "-e", strings.Join(events, ","), "-p", strconv.Itoa(pid))
	cmd.ExtraFiles = []*os.File{ctlR, ackW}
	stderr := new(tailBuffer)
	stderr.max = 2048
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		for _, f := range []*os.File{ctlR, ctlW, ackR, ackW} {
			f.Close()
		}
		os.Remove(out.Name())
		return nil, fmt.Errorf("procstat: start perf: %w", err)
	}
	ctlR.Close()
	ackW.Close()
	c := &SyscallCounter{cmd: cmd, ctl: ctlW, ack: ackR, out: out.Name(), done: make(chan error, 1), names: kept}
	go func() {
		err := cmd.Wait()
		if err != nil && stderr.String() != "" {
			err = fmt.Errorf("%w: %s", err, stderr.String())
		}
		c.done <- err
	}()
	return c, nil
}

// command sends a control command to perf and waits for its
// acknowledgement.
func (c *SyscallCounter) command(cmd string) error {
	if _, err := c.ctl.WriteString(cmd + "\n"); err != nil {
		return fmt.Errorf("procstat: perf control: %w", err)
	}
	c.ack.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf [16]byte
	n, err := c.ack.Read(buf[:])
	if err != nil {
		return fmt.Errorf("procstat: perf did not acknowledge %q: %w", cmd, err)
	}
	if !strings.HasPrefix(string(buf[:n]), "ack") {
		return fmt.Errorf("procstat: perf answered %q to %q", buf[:n], cmd)
	}
	return nil
}

// Enable starts counting.
func (c *SyscallCounter) Enable() error { return c.command("enable") }

// Disable stops counting; a later Enable resumes it.
func (c *SyscallCounter) Disable() error { return c.command("disable") }

// Stop ends perf and returns the counts of the enabled windows by system
// call name, with the count of all system calls under TotalSyscalls.
func (c *SyscallCounter) Stop() (map[string]int64, error) {
	defer os.Remove(c.out)
	defer c.ctl.Close()
	defer c.ack.Close()
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-c.done:
		if err != nil {
			var ee *exec.ExitError
			// perf exits with the status of the interrupt.
			if !errors.As(err, &ee) {
				return nil, err
			}
		}
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
		return nil, errors.New("procstat: perf did not stop on SIGINT")
	}
	b, err := os.ReadFile(c.out)
	if err != nil {
		return nil, err
	}
	return parsePerfCSV(string(b))
}

// parsePerfCSV reads perf stat -x, output: value,unit,event,...
func parsePerfCSV(s string) (map[string]int64, error) {
	counts := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		var name string
		switch ev := f[2]; {
		case ev == "raw_syscalls:sys_enter":
			name = TotalSyscalls
		case strings.HasPrefix(ev, "syscalls:sys_enter_"):
			name = strings.TrimPrefix(ev, "syscalls:sys_enter_")
		default:
			continue
		}
		if strings.HasPrefix(f[0], "<not") {
			counts[name] = 0
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("procstat: perf output line %q: %w", line, err)
		}
		counts[name] = n
	}
	if _, ok := counts[TotalSyscalls]; !ok {
		return nil, fmt.Errorf("procstat: no system call count in perf output %q", s)
	}
	return counts, nil
}
