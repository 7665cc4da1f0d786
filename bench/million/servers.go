package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lxzan/gws"
	"golang.org/x/sys/unix"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/channel"
	_ "github.com/workerman-go/workerman/protocols/websocket" // the websocket:// scheme
	"github.com/workerman-go/workerman/push"
)

// oursMain is the server built on this framework: a WebSocket worker with
// MILLION_PROCS processes, a channel server, and a text worker on
// MILLION_CTL that answers "all" by sending one message to every
// WebSocket connection of every process through push.Hub.SendToAll, and
// replies "sent <unix ns>". It runs as workerman.RunAll's master; the
// worker processes run main again and find the role in the environment.
func oursMain() error {
	env := func(k string) string { return os.Getenv("MILLION_" + k) }
	dir := env("DIR")
	procs, _ := strconv.Atoi(env("PROCS"))
	workerman.PidFile = filepath.Join(dir, "million.pid")
	workerman.LogFile = filepath.Join(dir, "million.log")
	os.Args = []string{os.Args[0], "start"}
	chAddr := "127.0.0.1:" + env("CHANNEL_PORT")
	channel.NewServer(chAddr)

	ws := workerman.NewWorker("websocket://" + env("ADDR"))
	ws.Name = "ws"
	ws.Count = procs
	ws.Backlog = 65535
	ws.OnWorkerStart = func(w *workerman.Worker) {
		ch, err := channel.Connect(chAddr, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "million:", err)
			os.Exit(1)
		}
		push.New(ch, w)
		os.WriteFile(filepath.Join(dir, "started."+strconv.Itoa(w.ID)), nil, 0o644)
	}

	ctl := workerman.NewWorker("text://127.0.0.1:" + env("CTL_PORT"))
	ctl.Name = "ctl"
	var hub *push.Hub
	ctl.OnWorkerStart = func(w *workerman.Worker) {
		ch, err := channel.Connect(chAddr, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "million:", err)
			os.Exit(1)
		}
		hub = push.New(ch, nil)
		// READY once every WebSocket process has started.
		var check func()
		check = func() {
			for id := 0; id < procs; id++ {
				if _, err := os.Stat(filepath.Join(dir, "started."+strconv.Itoa(id))); err != nil {
					workerman.Timer.Once(20*time.Millisecond, check)
					return
				}
			}
			fmt.Println("READY")
		}
		check()
	}
	ctl.OnMessage = func(c *workerman.Connection, data any) {
		if strings.TrimSpace(data.(string)) != "all" {
			c.Send("unknown command")
			return
		}
		now := time.Now().UnixNano()
		if err := hub.SendToAll("hello everyone " + strconv.FormatInt(now, 10)); err != nil {
			c.Send("error " + err.Error())
			return
		}
		c.Send("sent " + strconv.FormatInt(now, 10))
	}
	return workerman.RunAll()
}

// gwsMain is one process of the gws peer: net/http with gws's upgrader and
// a goroutine per connection, on an SO_REUSEPORT socket so that several
// processes share the port (one process cannot hold more than the
// open-files limit).
func gwsMain() error {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp", os.Getenv("MILLION_ADDR"))
	if err != nil {
		return err
	}
	up := gws.NewUpgrader(&gws.BuiltinEventHandler{}, &gws.ServerOption{})
	fmt.Println("READY")
	return http.Serve(ln, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(rw, r)
		if err != nil {
			return
		}
		go c.ReadLoop()
	}))
}
