package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/bench/loadgen/procstat"
	"github.com/workerman-go/workerman/channel"
	"github.com/workerman-go/workerman/protocols/websocket"
	"github.com/workerman-go/workerman/push"
)

// Row 2, fan-out: a workerman program whose WebSocket worker runs Procs
// processes; the load generator holds Conns WebSocket connections to it,
// publishes one message, and times how long it takes until every
// connection has received it, then publishes the next.
//
// ours: the program also runs a channel server worker; each WebSocket
// process makes a push.Hub (channel.Connect in OnWorkerStart), and the
// generator publishes with Hub.SendToAll from a channel client of its own.
// redis: each WebSocket process subscribes to Redis with go-redis on a
// goroutine and hands every message to its loop (workerman.Post), which
// sends it to all its connections; the generator publishes with go-redis.

const fanoutEvent = "fanout"

type fanoutServerConf struct {
	Impl  string // "ours" or "redis"
	WS    string // host:port of the WebSocket worker
	Relay string // ours: the channel server's address (a worker of this program); redis: redis-server
	Procs int    // WebSocket processes
	Dir   string // pid and log files
}

// fanoutServer is the program under test; the master starts it again for
// every worker process, with the same arguments.
func fanoutServer(conf fanoutServerConf) {
	raiseNofile()
	workerman.PidFile = filepath.Join(conf.Dir, "fanout.pid")
	workerman.LogFile = filepath.Join(conf.Dir, "fanout.log")
	if conf.Impl == "ours" {
		channel.NewServer(conf.Relay)
	}
	ws := workerman.NewWorker("websocket://" + conf.WS)
	ws.Name = "fanout"
	ws.Count = conf.Procs
	// One listening socket per process, so that the kernel spreads the
	// connections evenly over the processes.
	ws.ReusePort = true
	var greeting []byte
	ws.Protocol = &websocket.Server{
		Type: websocket.BinaryTypeArrayBuffer,
		// The greeting tells the generator that the connection is
		// registered, and in which process.
		OnWebSocketConnect: func(c *workerman.Connection, _ *http.Request) { c.Send(greeting) },
	}
	ws.OnWorkerStart = func(w *workerman.Worker) {
		greeting = []byte{'G', byte(w.ID)}
		switch conf.Impl {
		case "ours":
			ch, err := channel.Connect(conf.Relay, nil)
			if err != nil {
				fail(err)
			}
			push.New(ch, w)
		case "redis":
			rdb := redis.NewClient(&redis.Options{Addr: conf.Relay})
			ps := rdb.Subscribe(context.Background(), fanoutEvent)
			go func() {
				for {
					m, err := ps.ReceiveMessage(context.Background())
					if err != nil {
						workerman.Logger().Error("redis subscription ended", "err", err)
						return
					}
					// Boxed once, sent to every connection.
					var msg any = []byte(m.Payload)
					workerman.Post(func() {
						for _, c := range w.Connections {
							c.Send(msg)
						}
					})
				}
			}()
		}
	}
	if err := workerman.RunAllArgs([]string{"start"}); err != nil {
		fail(err)
	}
}

type fanoutGenConf struct {
	Impl      string
	WS        string // the WebSocket worker
	Relay     string // the channel server or redis-server, to publish
	Conns     int
	Procs     int // WebSocket processes that must be subscribed
	Size      int // message bytes (at least 9)
	Warmup    int // publishes not measured
	Publishes int // measured publishes
	Timeout   time.Duration
}

type fanoutResult struct {
	Completion *hist   // publish → last connection received, per publish
	Elapsed    int64   // ns from the first measured publish to the last completion
	Delivered  uint64  // messages received by the connections in the measured publishes
	PerProc    []int64 // connections per server process
	Mallocs    uint64  // generator heap allocations during the measured publishes
}

// fanoutGen is the load generator: it holds the connections and publishes.
func fanoutGen(conf fanoutGenConf) {
	raiseNofile()
	if conf.Size < 9 {
		conf.Size = 9
	}
	workerman.StartLoop()
	var (
		greeted atomic.Int64
		closed  atomic.Int64
		perProc = make([]atomic.Int64, conf.Procs)
		cur     atomic.Uint64 // sequence number of the message in flight
		done    = make(chan time.Time, 1)
		// loop only
		gotSeq uint64
		got    int
	)
	onMessage := func(_ *workerman.Connection, data any) {
		var b []byte
		switch v := data.(type) {
		case []byte:
			b = v
		case string:
			b = []byte(v)
		}
		if len(b) == 2 && b[0] == 'G' {
			if int(b[1]) < len(perProc) {
				perProc[b[1]].Add(1)
			}
			greeted.Add(1)
			return
		}
		if len(b) < 9 || b[0] != 'M' {
			return
		}
		seq := u64(b, 1)
		if seq != cur.Load() {
			return
		}
		if gotSeq != seq {
			gotSeq, got = seq, 0
		}
		got++
		if got == conf.Conns {
			done <- time.Now()
		}
	}
	// Every server process subscribes in OnWorkerStart, after it listens:
	// connect only when all are subscribed, so that the connections spread
	// over all of them.
	ctx, cancel := context.WithTimeout(context.Background(), conf.Timeout)
	defer cancel()
	var publish func([]byte) error
	var subscribers func() (int, error)
	switch conf.Impl {
	case "ours":
		ch, err := channel.Dial(ctx, conf.Relay, nil)
		if err != nil {
			fail(err)
		}
		hub := push.New(ch, nil)
		publish = func(b []byte) error { return hub.SendToAll(b) }
		subscribers = func() (int, error) {
			n, err := ch.CountContext(ctx, push.DefaultPrefix+"all")
			return n.Subscribers, err
		}
	case "redis":
		rdb := redis.NewClient(&redis.Options{Addr: conf.Relay})
		bg := context.Background()
		publish = func(b []byte) error { return rdb.Publish(bg, fanoutEvent, b).Err() }
		subscribers = func() (int, error) {
			m, err := rdb.PubSubNumSub(ctx, fanoutEvent).Result()
			return int(m[fanoutEvent]), err
		}
	default:
		fail(fmt.Errorf("unknown implementation %q", conf.Impl))
	}
	for {
		n, err := subscribers()
		if err != nil {
			fail(fmt.Errorf("counting subscribers: %w", err))
		}
		if n >= conf.Procs {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	url := "ws://" + conf.WS + "/"
	const wave = 500
	for opened := 0; opened < conf.Conns; {
		k := min(wave, conf.Conns-opened)
		errc := make(chan error, 1)
		workerman.Post(func() {
			for range k {
				c, err := workerman.NewAsyncTcpConnection(url, nil)
				if err != nil {
					errc <- err
					return
				}
				c.OnMessage = onMessage
				c.OnClose = func(*workerman.Connection) { closed.Add(1) }
				if err := c.Connect(); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		})
		if err := <-errc; err != nil {
			fail(err)
		}
		opened += k
		deadline := time.Now().Add(conf.Timeout)
		for greeted.Load() < int64(opened) {
			if closed.Load() > 0 || time.Now().After(deadline) {
				fail(fmt.Errorf("%d of %d connections ready, %d closed", greeted.Load(), opened, closed.Load()))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	say("ready", nil)
	cmds := stdinLines()
	if _, ok := <-cmds; !ok {
		return
	}

	msg := make([]byte, conf.Size)
	msg[0] = 'M'
	for i := 9; i < len(msg); i++ {
		msg[i] = 'x'
	}
	var res fanoutResult
	res.Completion = &hist{}
	var first time.Time
	var m0 uint64
	for i := range conf.Warmup + conf.Publishes {
		if i == conf.Warmup {
			m0 = mallocs()
			first = time.Now()
		}
		seq := uint64(i + 1)
		cur.Store(seq)
		put64(msg[1:], seq)
		t0 := time.Now()
		if err := publish(msg); err != nil {
			fail(fmt.Errorf("publish %d: %w", seq, err))
		}
		select {
		case t1 := <-done:
			if i >= conf.Warmup {
				res.Completion.record(int64(t1.Sub(t0)))
				res.Delivered += uint64(conf.Conns)
			}
		case <-time.After(conf.Timeout):
			fail(fmt.Errorf("publish %d: not every connection received it within %v (%d closed)", seq, conf.Timeout, closed.Load()))
		}
	}
	res.Elapsed = int64(time.Since(first))
	res.Mallocs = mallocs() - m0
	for i := range perProc {
		res.PerProc = append(res.PerProc, perProc[i].Load())
	}
	say("result", &res)
	for range cmds {
	}
	os.Exit(0)
}

// fanoutRun is one measured run of row 2 against one implementation.
func fanoutRun(o *options, impl string) (measure, error) {
	var m measure
	dir, err := os.MkdirTemp("", "chanbench-fanout-")
	if err != nil {
		return m, err
	}
	defer os.RemoveAll(dir)
	wsAddr, err := procstat.FreeAddr()
	if err != nil {
		return m, err
	}
	var relayAddr string
	var extra []int // processes outside the program that serve it
	if impl == "redis" {
		r, err := startRedis()
		if err != nil {
			return m, err
		}
		defer r.stop()
		relayAddr = r.addr
		extra = append(extra, r.pid())
	} else if relayAddr, err = procstat.FreeAddr(); err != nil {
		return m, err
	}
	srv, err := startProc("fan-out server ("+impl+")", "fanout-server", fanoutServerConf{
		Impl: impl, WS: wsAddr, Relay: relayAddr, Procs: o.wsProcs, Dir: dir,
	})
	if err != nil {
		return m, err
	}
	defer srv.stop(syscall.SIGTERM)
	if err := waitListening(wsAddr, 20*time.Second); err != nil {
		return m, fmt.Errorf("%w%s", err, srv.stderrTail())
	}
	gen, err := startProc("fan-out generator", "fanout-gen", fanoutGenConf{
		Impl: impl, WS: wsAddr, Relay: relayAddr, Conns: o.conns, Procs: o.wsProcs, Size: o.size,
		Warmup: o.fanWarmup, Publishes: o.publishes, Timeout: 60 * time.Second,
	})
	if err != nil {
		return m, err
	}
	defer gen.stop(0)
	if _, err := gen.expect("ready", 5*time.Minute); err != nil {
		return m, fmt.Errorf("%w%s", err, srv.stderrTail())
	}
	servers := append([]int{srv.cmd.Process.Pid}, extra...)
	cpu0, gcpu0, io0 := cpuTime(true, servers...), cpuTime(false, gen.cmd.Process.Pid), ioCalls(true, servers...)
	if err := gen.send("go"); err != nil {
		return m, err
	}
	var r fanoutResult
	if err := gen.result(&r, 10*time.Minute); err != nil {
		return m, fmt.Errorf("%w%s", err, srv.stderrTail())
	}
	cpu1, gcpu1, io1 := cpuTime(true, servers...), cpuTime(false, gen.cmd.Process.Pid), ioCalls(true, servers...)
	if r.Delivered == 0 || r.Elapsed <= 0 {
		return m, errors.New("nothing measured")
	}
	m.rate = float64(r.Delivered) / time.Duration(r.Elapsed).Seconds()
	m.p50, m.p99 = r.Completion.quantile(0.50), r.Completion.quantile(0.99)
	// The warm-up publishes fall between the two samples too.
	total := r.Delivered + uint64(o.fanWarmup*o.conns)
	m.serverCPU = perItem(cpu1-cpu0, total)
	m.clientCPU = perItem(gcpu1-gcpu0, total)
	m.serverIO = float64(io1-io0) / float64(total)
	m.allocs = float64(r.Mallocs) / float64(r.Delivered)
	var spread []string
	for i, n := range r.PerProc {
		spread = append(spread, fmt.Sprintf("%d:%d", i, n))
	}
	m.note = "connections per process " + strings.Join(spread, " ")
	return m, nil
}
