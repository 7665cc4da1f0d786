package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// tuneKernel widens, as root, what a million loopback connections need:
// the local port range (each source address then gives 64,000 ports) and
// the accept backlogs. It returns the function that puts the old values
// back. Without root it changes nothing.
func tuneKernel() func() {
	want := map[string]string{
		"net/ipv4/ip_local_port_range": "1024\t65535",
		"net/core/somaxconn":           "65535",
		"net/ipv4/tcp_max_syn_backlog": "65535",
	}
	old := map[string]string{}
	for k, v := range want {
		path := "/proc/sys/" + k
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "million: cannot set %s (%v); run as root for more than ~28,000 connections per source address\n", k, err)
			continue
		}
		old[k] = strings.TrimSpace(string(b))
	}
	return func() {
		for k, v := range old {
			os.WriteFile("/proc/sys/"+k, []byte(v), 0o644)
		}
		old = nil
	}
}

// tcpMem is the kernel's TCP buffer memory in bytes (/proc/net/sockstat).
func tcpMem() int64 {
	b, _ := os.ReadFile("/proc/net/sockstat")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "TCP:" {
			for i := 1; i+1 < len(f); i++ {
				if f[i] == "mem" {
					n, _ := strconv.ParseInt(f[i+1], 10, 64)
					return n * int64(os.Getpagesize())
				}
			}
		}
	}
	return 0
}

// slabBytes is the kernel's slab memory (Slab of /proc/meminfo): socket
// structures, files, dentries and inodes live there.
func slabBytes() int64 {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Slab:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// rssOf is a process's resident set size in bytes, or 0 if it is gone.
func rssOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
