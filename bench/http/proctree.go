package main

import (
	"bytes"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// phpStartFile returns the absolute path of the PHP peer's start file and
// checks that the PHP Workerman source is named.
func phpStartFile() string {
	if src := os.Getenv("WORKERMAN_PHP_SRC"); src == "" {
		log.Fatal(`the server "php" needs WORKERMAN_PHP_SRC: a checkout of github.com/walkor/workerman (see http/README.md)`)
	}
	p, err := filepath.Abs(*phpStart)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		log.Fatalf("PHP start file: %v (run from the bench directory or pass -php-start)", err)
	}
	return p
}

// processTree returns pid and its descendants, from /proc.
func processTree(pid int) []int {
	parent := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		parent[p] = pp
	}
	tree := []int{pid}
	for changed := true; changed; {
		changed = false
		for p, pp := range parent {
			if in(tree, pp) && !in(tree, p) {
				tree = append(tree, p)
				changed = true
			}
		}
	}
	return tree
}

func in(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// treeCPU is the user+system time of pid and its descendants.
func treeCPU(pid int) time.Duration {
	var total time.Duration
	for _, p := range processTree(pid) {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+st) * time.Second / 100 // USER_HZ
	}
	return total
}
