package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"

	ltls "github.com/lesismal/llib/std/crypto/tls"
	"github.com/lesismal/nbio"
	ntls "github.com/lesismal/nbio/extension/tls"
	"github.com/lesismal/nbio/logging"
	"github.com/workerman-go/workerman"
)

// The server side: each server runs in a child process started by the
// driver with -serve KIND. A single-process server prints "ADDR address"
// and then answers the driver's "stats" lines on its standard input (see
// control); the tree server workerman2 listens on the address the driver
// chose and marks its worker processes started in -dir.

// treeCount is the number of worker processes of the server workerman2.
const treeCount = 2

func runServer(kind string) {
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	if kind == "workerman2" {
		serveRunAll(cfg, treeCount)
		return
	}
	startProfiles(kind)
	switch kind {
	case "workerman":
		w := newEchoWorker("127.0.0.1:0", cfg)
		if err := w.Listen(); err != nil {
			log.Fatal(err)
		}
		fmt.Println("ADDR", w.Addr())
		go control()
		if err := workerman.EventLoop().Run(); err != nil {
			log.Fatal(err)
		}
	case "gotls":
		serveGoTLS(cfg)
	case "nbio":
		serveNbio()
	default:
		log.Fatalf("unknown server %q", kind)
	}
}

// newEchoWorker is workerman's TLS echo server. It echoes with flow
// control, as crypto/tls's blocking Write has: a client that does not read
// pauses its own input.
func newEchoWorker(addr string, cfg *tls.Config) *workerman.Worker {
	w := workerman.NewWorker("tcp://" + addr)
	w.Name = "tls-echo"
	w.Transport = "ssl"
	w.TLSConfig = cfg
	w.OnConnect = func(c *workerman.Connection) { c.Pipe(c) }
	return w
}

// serveRunAll runs the echo worker as a Workerman program does on several
// cores: workerman.RunAll with Count worker processes sharing the
// listening socket on -addr. The master starts the worker processes by
// running this program again with the same arguments, so each of them
// comes here too; RunAllArgs gets the command "start" (in the foreground,
// never daemonised) while the flags stay for the new processes. The pid
// file and log go to -dir, where each worker process also marks itself
// started (the driver waits for all marks).
func serveRunAll(cfg *tls.Config, count int) {
	if *addr == "" || *dir == "" {
		log.Fatal("workerman2 needs -addr and -dir")
	}
	workerman.PidFile = filepath.Join(*dir, "workerman.pid")
	workerman.LogFile = filepath.Join(*dir, "workerman.log")
	w := newEchoWorker(*addr, cfg)
	w.Count = count
	w.OnWorkerStart = func(w *workerman.Worker) {
		startProfiles("workerman2." + strconv.Itoa(w.ID))
		os.WriteFile(filepath.Join(*dir, "started."+strconv.Itoa(w.ID)), nil, 0o644)
	}
	w.OnWorkerStop = func(*workerman.Worker) { stopProfile() }
	if err := workerman.RunAllArgs([]string{"start"}); err != nil {
		log.Fatal(err)
	}
}

// serveGoTLS is crypto/tls over net: a goroutine per connection with a
// blocking read/write echo loop.
func serveGoTLS(cfg *tls.Config) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ADDR", ln.Addr())
	go control()
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 16<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// serveNbio runs nbio's engine (its default number of pollers) with its
// TLS extension: the socket's bytes are appended to llib's crypto/tls fork
// on the poller goroutine, decrypted and echoed there.
func serveNbio() {
	cert, err := ltls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatal(err)
	}
	cfg := &ltls.Config{Certificates: []ltls.Certificate{cert}}
	logging.SetLevel(logging.LevelNone) // stdout carries the control protocol
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	g := nbio.NewEngine(nbio.Config{
		Network: "tcp",
		Addrs:   []string{ln.Addr().String()},
		Listen:  func(string, string) (net.Listener, error) { return ln, nil },
	})
	bufs := sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}
	g.OnOpen(ntls.WrapOpen(cfg, false, nil))
	g.OnClose(ntls.WrapClose(nil))
	g.OnData(func(c *nbio.Conn, data []byte) {
		tc, ok := c.Session().(*ntls.Conn)
		if !ok {
			return
		}
		tc.Append(data)
		bp := bufs.Get().(*[]byte)
		defer bufs.Put(bp)
		for {
			n, err := tc.Read(*bp)
			if err != nil {
				c.Close()
				return
			}
			if n == 0 {
				return
			}
			if _, err := tc.Write((*bp)[:n]); err != nil {
				c.Close()
				return
			}
		}
	})
	if err := g.Start(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("ADDR", ln.Addr())
	control()
}

// startProfiles starts the profiles asked for by -cpuprofile and
// -memprofile, to be written to the prefix + name when stopProfile runs.
func startProfiles(name string) {
	if *profile != "" {
		f, err := os.Create(*profile + name)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
	}
	if *memProfile != "" {
		runtime.MemProfileRate = 1
		stopCPU := stopProfile
		stopProfile = func() {
			stopCPU()
			if f, err := os.Create(*memProfile + name); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}
	}
}

var stopProfile = func() {}

// control answers "stats" with the process's allocation and read/write
// system call counts, and exits when its input ends.
func control() {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		r, w := procIO()
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		cpu := ru.Utime.Nano()/1000 + ru.Stime.Nano()/1000
		fmt.Printf("STATS %d %d %d %d\n", ms.Mallocs, r, w, cpu)
	}
	stopProfile()
	os.Exit(0)
}

func procIO() (syscr, syscw int64) {
	b, _ := os.ReadFile("/proc/self/io")
	for _, l := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(l, ": ")
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			syscr = n
		case "syscw":
			syscw = n
		}
	}
	return
}
