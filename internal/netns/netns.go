//go:build linux

// Package netns builds a small private network of "hosts" on one Linux
// machine, for tests and benchmarks that need several machines: each host is
// a network namespace with one interface (eth0) on a bridge, and the bridge
// lives in a namespace of its own, so that no interface or address is added
// to the machine's own namespace and two networks built at once (parallel
// test runs) cannot clash, even with the same addresses.
//
// Programs run on a host through "ip netns exec" (Host.Command); the calling
// process reaches a host by opening sockets inside its namespace
// (Host.Dial, Host.Listen), which keep working from any goroutine.
//
// Building a network needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and the ip
// command (iproute2). Namespaces are named Prefix-PID-RANDOM-NAME: Close
// removes them, and Sweep removes those left by a process that died before
// it could (PID no longer running).
package netns

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Prefix starts the name of every namespace this package creates.
const Prefix = "wmnet"

// runDir is where "ip netns add" mounts the namespaces it names.
const runDir = "/var/run/netns"

// Net is a bridge and the hosts attached to it.
type Net struct {
	// Hosts are the hosts, in the order they were asked for.
	Hosts []*Host
	id    string // Prefix-PID-RANDOM
	sw    string // the bridge's namespace
}

// Host is one network namespace on the bridge.
type Host struct {
	// Name is the name the host was given (New's names).
	Name string
	// NS is the namespace's name, for "ip netns exec" and "ip -n".
	NS string
	// IP is the host's address on the bridge.
	IP string
}

// Supported reports why New cannot work here, or nil if it can: it needs
// root and the ip command.
func Supported() error {
	if os.Geteuid() != 0 {
		return errors.New("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("the ip command (iproute2) is not installed")
	}
	return nil
}

// New creates one namespace per name, each with eth0 at subnet.N (N = 1, 2,
// ... in order) with a /24 mask, all on one bridge; subnet is the first three
// octets, such as "10.77.0". On an error it removes what it created.
func New(subnet string, names ...string) (*Net, error) {
	if err := Supported(); err != nil {
		return nil, err
	}
	if len(names) == 0 || len(names) > 250 {
		return nil, fmt.Errorf("netns: want 1 to 250 hosts, got %d", len(names))
	}
	if ip := net.ParseIP(subnet + ".1").To4(); ip == nil {
		return nil, fmt.Errorf("netns: subnet %q is not three octets of an IPv4 address", subnet)
	}
	var r [3]byte
	rand.Read(r[:])
	n := &Net{id: fmt.Sprintf("%s-%d-%s", Prefix, os.Getpid(), hex.EncodeToString(r[:]))}
	n.sw = n.id + "-sw"
	ok := false
	defer func() {
		if !ok {
			n.Close()
		}
	}()
	if err := ipCmd("netns", "add", n.sw); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"-n", n.sw, "link", "set", "lo", "up"},
		{"-n", n.sw, "link", "add", "br0", "type", "bridge"},
		{"-n", n.sw, "link", "set", "br0", "up"},
	} {
		if err := ipCmd(args...); err != nil {
			return nil, err
		}
	}
	for i, name := range names {
		h := &Host{Name: name, NS: n.id + "-" + name, IP: fmt.Sprintf("%s.%d", subnet, i+1)}
		if err := ipCmd("netns", "add", h.NS); err != nil {
			return nil, err
		}
		n.Hosts = append(n.Hosts, h)
		port := "p" + strconv.Itoa(i)
		for _, args := range [][]string{
			{"-n", h.NS, "link", "set", "lo", "up"},
			{"-n", n.sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h.NS},
			{"-n", n.sw, "link", "set", port, "master", "br0", "up"},
			{"-n", h.NS, "addr", "add", h.IP + "/24", "dev", "eth0"},
			{"-n", h.NS, "link", "set", "eth0", "up"},
		} {
			if err := ipCmd(args...); err != nil {
				return nil, err
			}
		}
	}
	ok = true
	return n, nil
}

// Host returns the host of that name, or nil.
func (n *Net) Host(name string) *Host {
	for _, h := range n.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// Close kills every process still running in the network's namespaces and
// removes them (their interfaces go with them).
func (n *Net) Close() error {
	all := []string{n.sw}
	for _, h := range n.Hosts {
		all = append(all, h.NS)
	}
	return removeAll(all)
}

// Sweep removes the namespaces (and kills their processes) that a process
// of this package left behind: those whose creating process is no longer
// running.
func Sweep() error {
	ents, err := os.ReadDir(runDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var stale []string
	for _, e := range ents {
		parts := strings.SplitN(e.Name(), "-", 4)
		if len(parts) < 4 || parts[0] != Prefix {
			continue
		}
		pid, err := strconv.Atoi(parts[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			stale = append(stale, e.Name())
		}
	}
	return removeAll(stale)
}

func removeAll(names []string) error {
	var errs []error
	for _, ns := range names {
		killAll(ns)
	}
	for _, ns := range names {
		if _, err := os.Stat(runDir + "/" + ns); err != nil {
			continue
		}
		if err := ipCmd("netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// killAll kills the processes of a namespace and waits (briefly) until they
// are gone, so that the namespace can be removed.
func killAll(ns string) {
	for range 50 {
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		sc := bufio.NewScanner(bytes.NewReader(out))
		n := 0
		for sc.Scan() {
			if pid, err := strconv.Atoi(strings.TrimSpace(sc.Text())); err == nil && pid > 1 && pid != os.Getpid() {
				syscall.Kill(pid, syscall.SIGKILL)
				n++
			}
		}
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// Command returns a command that runs name with args on the host, through
// "ip netns exec" (which execs the program: the command's process is the
// program's).
func (h *Host) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// Addr returns the host's address with a port, such as "10.77.0.1:4222".
func (h *Host) Addr(port int) string {
	return net.JoinHostPort(h.IP, strconv.Itoa(port))
}

// Pids returns the processes running in the host's namespace.
func (h *Host) Pids() []int {
	out, _ := exec.Command("ip", "netns", "pids", h.NS).Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// In runs f on an OS thread that has entered the host's network namespace:
// sockets that f creates belong to the host, and stay there when used from
// other goroutines. The thread returns to its namespace afterwards.
func (h *Host) In(f func() error) error {
	res := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Unlocked only once back in the original namespace; a goroutine
		// that ends locked takes its thread with it.
		back, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			res <- fmt.Errorf("netns: %w", err)
			return
		}
		defer unix.Close(back)
		fd, err := unix.Open(runDir+"/"+h.NS, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			res <- fmt.Errorf("netns %s: %w", h.NS, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			res <- fmt.Errorf("netns %s: setns: %w", h.NS, err)
			return
		}
		err = f()
		if unix.Setns(back, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		res <- err
	}()
	return <-res
}

// DialContext connects from inside the host's namespace, as net.Dialer
// would: address is reached over the host's network.
func (h *Host) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var c net.Conn
	err := h.In(func() error {
		var err error
		var d net.Dialer
		c, err = d.DialContext(ctx, network, address)
		return err
	})
	return c, err
}

// Dial is DialContext with a 10-second timeout.
func (h *Host) Dial(network, address string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return h.DialContext(ctx, network, address)
}

// Listen listens inside the host's namespace.
func (h *Host) Listen(network, address string) (net.Listener, error) {
	var l net.Listener
	err := h.In(func() error {
		var err error
		l, err = net.Listen(network, address)
		return err
	})
	return l, err
}
