// Command svc is the program the process-manager tests build and drive
// through its command line. It is configured by environment variables so
// that every test can run its own copy side by side:
//
//	SVC_PIDFILE, SVC_LOGFILE, SVC_STDOUT   workerman.PidFile, LogFile, StdoutFile
//	SVC_ADDR                               the main worker's address
//	SVC_COUNT                              its Count
//	SVC_REUSEPORT=1                        its ReusePort
//	SVC_USER                               its User
//	SVC_KEEP_ADDR                          address of a second worker with Reloadable false
//	SVC_UDP_ADDR                           address of a UDP echo worker (2 processes)
//	SVC_UNIX_PATH                          path of a text worker on a Unix socket
//	SVC_INNER_ADDR                         a worker each process opens in OnWorkerStart (ReusePort)
//	SVC_INNER_BASE                         a port: each process also opens an inner text worker
//	                                       on SVC_INNER_BASE+ID, without ReusePort (the manual's way)
//	SVC_INNER_SAME                         an address every process listens on in OnWorkerStart,
//	                                       without ReusePort (which fails beyond the first)
//	SVC_SOCKOPTS=1                         the main worker and the SVC_INNER_BASE workers set the
//	                                       socket options NoReuseAddr (and the main worker Nagle)
//	SVC_DAEMONIZE=1                        workerman.Daemonize
//	SVC_BUSY_ADDR                          with a build made with -X main.extraInner=1, OnWorkerStart
//	                                       also listens there and only logs a failure
//	SVC_WS_ADDR                            address of a WebSocket worker (2 processes)
//	SVC_HTTP_ADDR                          address of an HTTP worker (2 processes)
//	SVC_EVENTS                             a file where every process appends its lifecycle
//	                                       events: "start|stop|reload <worker> <pid> <id>"
//	SVC_CERT, SVC_KEY                      serve the main worker over TLS (transport ssl)
//	SVC_SINGLE=1                           workerman.SingleProcess
//	SVC_FAIL=1                             OnWorkerStart panics (start failure)
//	SVC_CRASH_ON_PANIC=1                   workerman.CrashOnPanic
//	SVC_METRICS_ADDR                       workerman.MetricsAddress
//	SVC_STOP_MS, SVC_GRACE_MS              StopTimeout, GracefulStopTimeout
//
// The main worker speaks the text protocol:
//
//	ping          -> "pong <greeting> <version> <pid> <id>"
//	sleep <ms>    -> "slept <pid>" after ms, from a timer
//	block <ms>    -> blocks the process's loop for ms, then "blocked"
//	whoami        -> "uid <uid>"
//	procs         -> "procs <GOMAXPROCS of the process>"
//	reloads       -> "reloads <n>", how often OnWorkerReload ran here
//	stopall       -> calls workerman.StopAll
//	panic         -> panics in OnMessage
//	panictimer    -> panics in a timer callback 10 ms later, then answers "timer"
//	                 from another timer
//	exit <code>   -> calls os.Exit(code)
//
// The WebSocket worker answers each message with "ws <version> <pid>";
// the HTTP worker answers GET / with "http <version> <pid>", after ms
// milliseconds for /?sleep=<ms>, and once its process stops for
// /?until=stopping.
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/protocols/http"
	"github.com/workerman-go/workerman/protocols/websocket"
)

// version is set with -ldflags "-X main.version=..." to tell builds apart;
// a build with -X main.broken=1 fails in OnWorkerStart.
var (
	version    = "v1"
	broken     = ""
	extraInner = ""
)

// event appends a lifecycle event to SVC_EVENTS.
func event(kind string, w *workerman.Worker) {
	path := os.Getenv("SVC_EVENTS")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
	if err != nil {
		log.Print(err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s %d %d\n", kind, w.Name, os.Getpid(), w.ID)
}

// lifecycle records the events of a worker's processes.
func lifecycle(w *workerman.Worker) {
	start, reload := w.OnWorkerStart, w.OnWorkerReload
	w.OnWorkerStart = func(w *workerman.Worker) {
		if start != nil {
			start(w)
		}
		event("start", w)
	}
	w.OnWorkerStop = func(w *workerman.Worker) { event("stop", w) }
	w.OnWorkerReload = func(w *workerman.Worker) {
		if reload != nil {
			reload(w)
		}
		event("reload", w)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func main() {
	greeting := flag.String("greeting", "hello", "word included in ping replies")
	flag.Parse()

	workerman.PidFile = os.Getenv("SVC_PIDFILE")
	workerman.LogFile = os.Getenv("SVC_LOGFILE")
	workerman.StdoutFile = os.Getenv("SVC_STDOUT")
	workerman.SingleProcess = os.Getenv("SVC_SINGLE") == "1"
	workerman.Daemonize = os.Getenv("SVC_DAEMONIZE") == "1"
	workerman.CrashOnPanic = os.Getenv("SVC_CRASH_ON_PANIC") == "1"
	workerman.MetricsAddress = os.Getenv("SVC_METRICS_ADDR")
	if ms := envInt("SVC_STOP_MS", 0); ms > 0 {
		workerman.StopTimeout = time.Duration(ms) * time.Millisecond
	}
	if ms := envInt("SVC_GRACE_MS", 0); ms > 0 {
		workerman.GracefulStopTimeout = time.Duration(ms) * time.Millisecond
	}

	reloads := 0
	w := workerman.NewWorker(os.Getenv("SVC_ADDR"))
	w.Name = "svc"
	w.Count = envInt("SVC_COUNT", 2)
	w.ReusePort = os.Getenv("SVC_REUSEPORT") == "1"
	w.User = os.Getenv("SVC_USER")
	sockOpts := os.Getenv("SVC_SOCKOPTS") == "1"
	if sockOpts {
		w.Socket.NoReuseAddr = true
		w.Socket.Nagle = true
	}
	if cert := os.Getenv("SVC_CERT"); cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, os.Getenv("SVC_KEY"))
		if err != nil {
			log.Fatal(err)
		}
		w.Transport = "ssl"
		w.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}}
	}
	w.OnWorkerStart = func(w *workerman.Worker) {
		if os.Getenv("SVC_FAIL") == "1" || broken != "" {
			panic("svc: failing on purpose")
		}
		fmt.Printf("svc %s started: id %d pid %d\n", version, w.ID, os.Getpid())
		if addr := os.Getenv("SVC_OUTBOUND_ADDR"); addr != "" {
			out, err := workerman.NewAsyncTcpConnection("text://"+addr, nil)
			if err != nil {
				panic(err)
			}
			out.OnConnect = func(c *workerman.Connection) { c.Send(fmt.Sprintf("hello from %d", os.Getpid())) }
			out.Connect()
		}
		if addr := os.Getenv("SVC_INNER_ADDR"); addr != "" {
			inner := workerman.NewWorker(addr)
			inner.Name = "inner"
			inner.ReusePort = true
			inner.OnMessage = func(c *workerman.Connection, data any) {
				c.Send(fmt.Sprintf("inner %s %d", version, os.Getpid()))
			}
			if err := inner.Listen(); err != nil {
				panic(err)
			}
		}
		if base := envInt("SVC_INNER_BASE", 0); base > 0 {
			inner := workerman.NewWorker(fmt.Sprintf("text://127.0.0.1:%d", base+w.ID))
			inner.Name = "inner" + strconv.Itoa(w.ID)
			inner.Socket.NoReuseAddr = sockOpts
			inner.OnMessage = func(c *workerman.Connection, data any) {
				c.Send(fmt.Sprintf("inner %s %d", version, os.Getpid()))
			}
			if err := inner.Listen(); err != nil {
				panic(err)
			}
		}
		if addr := os.Getenv("SVC_INNER_SAME"); addr != "" {
			// Every process listens on the same port, without ReusePort:
			// the manual's example of what fails.
			same := workerman.NewWorker(addr)
			same.Name = "same"
			if err := same.Listen(); err != nil {
				log.Printf("same: %v", err)
			}
		}
		if addr := os.Getenv("SVC_BUSY_ADDR"); addr != "" && extraInner != "" {
			// As a program might: the failure is only logged.
			extra := workerman.NewWorker("text://" + addr)
			extra.Name = "extra"
			if err := extra.Listen(); err != nil {
				log.Printf("extra: %v", err)
			}
		}
	}
	w.OnWorkerReload = func(w *workerman.Worker) { reloads++ }
	w.OnMessage = func(c *workerman.Connection, data any) {
		f := strings.Fields(data.(string))
		if len(f) == 0 {
			c.Send("empty")
			return
		}
		switch f[0] {
		case "ping":
			c.Send(fmt.Sprintf("pong %s %s %d %d", *greeting, version, os.Getpid(), w.ID))
		case "sleep":
			ms, _ := strconv.Atoi(f[1])
			workerman.Timer.Once(time.Duration(ms)*time.Millisecond, func() {
				c.Send(fmt.Sprintf("slept %d stopping=%v", os.Getpid(), workerman.Stopping()))
			})
		case "untilstop":
			// Answers once the process is stopping (then sleeps the given
			// milliseconds more): a request that is surely in flight when a
			// stop arrives, however slowly the stop arrives.
			ms, _ := strconv.Atoi(f[1])
			var poll int
			poll = workerman.Timer.Add(10*time.Millisecond, func() {
				if !workerman.Stopping() {
					return
				}
				workerman.Timer.Del(poll)
				workerman.Timer.Once(time.Duration(ms)*time.Millisecond, func() {
					c.Send(fmt.Sprintf("slept %d stopping=%v", os.Getpid(), workerman.Stopping()))
				})
			})
		case "block":
			ms, _ := strconv.Atoi(f[1])
			time.Sleep(time.Duration(ms) * time.Millisecond)
			c.Send("blocked")
		case "whoami":
			c.Send(fmt.Sprintf("uid %d", os.Getuid()))
		case "procs":
			c.Send(fmt.Sprintf("procs %d", runtime.GOMAXPROCS(0)))
		case "reloads":
			c.Send(fmt.Sprintf("reloads %d", reloads))
		case "stopall":
			workerman.StopAll()
		case "panic":
			panic("svc: panic on request")
		case "panictimer":
			workerman.Timer.Once(10*time.Millisecond, func() { panic("svc: panic in a timer") })
			workerman.Timer.Once(50*time.Millisecond, func() { c.Send("timer") })
		case "exit":
			code, _ := strconv.Atoi(f[1])
			os.Exit(code)
		default:
			c.Send("unknown " + f[0])
		}
	}

	if addr := os.Getenv("SVC_KEEP_ADDR"); addr != "" {
		keepReloads := 0
		k := workerman.NewWorker(addr)
		k.Name = "keeper"
		k.Count = 1
		k.Reloadable = false
		k.OnWorkerReload = func(*workerman.Worker) { keepReloads++ }
		k.OnMessage = func(c *workerman.Connection, data any) {
			c.Send(fmt.Sprintf("keeper %d reloads %d", os.Getpid(), keepReloads))
		}
		lifecycle(k)
	}

	if addr := os.Getenv("SVC_UDP_ADDR"); addr != "" {
		u := workerman.NewWorker(addr)
		u.Name = "udp"
		u.Count = 2
		u.OnMessage = func(c *workerman.Connection, data any) {
			c.Send(fmt.Sprintf("udp %s %d %s", version, os.Getpid(), data))
		}
	}
	if path := os.Getenv("SVC_UNIX_PATH"); path != "" {
		x := workerman.NewWorker("unix://" + path)
		x.Name = "unix"
		x.Protocol = workerman.Text
		x.OnMessage = func(c *workerman.Connection, data any) {
			c.Send(fmt.Sprintf("unix %s %d", version, os.Getpid()))
		}
	}

	if addr := os.Getenv("SVC_WS_ADDR"); addr != "" {
		ws := workerman.NewWorker("websocket://" + addr)
		ws.Name = "ws"
		ws.Count = 2
		// Its own settings, as programs usually give them.
		ws.Protocol = &websocket.Server{PingInterval: time.Minute}
		ws.OnMessage = func(c *workerman.Connection, data any) {
			c.Send(fmt.Sprintf("ws %s %d", version, os.Getpid()))
		}
		lifecycle(ws)
	}
	if addr := os.Getenv("SVC_HTTP_ADDR"); addr != "" {
		h := workerman.NewWorker("http://" + addr)
		h.Name = "http"
		h.Count = 2
		h.OnMessage = func(c *workerman.Connection, data any) {
			r := data.(*http.Request)
			reply := fmt.Sprintf("http %s %d", version, os.Getpid())
			if r.Get("until") == "stopping" {
				// Answered once the process stops: a request surely in
				// flight when it retires.
				var id int
				id = workerman.Timer.Add(10*time.Millisecond, func() {
					if workerman.Stopping() {
						workerman.Timer.Del(id)
						c.Send(reply)
					}
				})
				return
			}
			if ms, _ := strconv.Atoi(r.Get("sleep")); ms > 0 {
				workerman.Timer.Once(time.Duration(ms)*time.Millisecond, func() { c.Send(reply) })
				return
			}
			c.Send(reply)
		}
		lifecycle(h)
	}
	lifecycle(w)

	if err := workerman.RunAllArgs(flag.Args()); err != nil {
		// The reason is on the output already (start fail); say that main
		// got it, and whether it can tell a busy port.
		fmt.Fprintf(os.Stderr, "svc: RunAll returned an error (address in use: %v)\n", errors.Is(err, syscall.EADDRINUSE))
		os.Exit(1)
	}
}
