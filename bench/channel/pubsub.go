package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/channel"
)

// Row 1, publish → deliver: Procs processes each subscribe to one event
// and publish to it, so every message reaches every process (itself
// included). A message carries its sender, the publish time and a sequence
// number. Each process keeps at most Window of its own messages in flight
// (published and not yet back to itself), and optionally paces itself to
// Rate messages per second; Publishers goroutines publish, because a
// go-redis PUBLISH waits for its reply.

const pubsubEvent = "bench"

type pubsubConf struct {
	Impl       string  // "ours" or "redis"
	Addr       string  // channel server or redis-server
	ID         int     // 1 … procs
	Size       int     // message bytes (at least 24)
	Window     int     // own messages in flight
	Publishers int     // publishing goroutines
	Rate       float64 // messages per second this process publishes; 0: as the window allows
}

type pubsubResult struct {
	Delivered   uint64 // messages received during the measured window
	Published   uint64 // messages published during the window
	Lat         *hist  // publish → callback, of the messages received in the window
	Mallocs     uint64 // heap allocations of the process during the window
	Errors      uint64 // refused publishes
	Disconnects uint64
	Late        int64 // ns between the agreed start and the start command's arrival
}

// u64 reads a little-endian uint64 at off of a string or a []byte.
func u64[T string | []byte](b T, off int) uint64 {
	_ = b[off+7]
	return uint64(b[off]) | uint64(b[off+1])<<8 | uint64(b[off+2])<<16 | uint64(b[off+3])<<24 |
		uint64(b[off+4])<<32 | uint64(b[off+5])<<40 | uint64(b[off+6])<<48 | uint64(b[off+7])<<56
}

func put64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

type pubsubState struct {
	id        uint64
	tokens    chan struct{}
	warm, end atomic.Int64 // unix ns; 0 until the driver says go

	mu        sync.Mutex
	lat       hist
	delivered uint64
}

// onMessage runs for every message received.
func (s *pubsubState) onMessage(sender uint64, sent int64) {
	now := time.Now().UnixNano()
	if now >= s.warm.Load() && now < s.end.Load() {
		s.mu.Lock()
		s.lat.record(now - sent)
		s.delivered++
		s.mu.Unlock()
	}
	if sender == s.id {
		select {
		case s.tokens <- struct{}{}:
		default:
		}
	}
}

// pubsubClient is one process of the row.
func pubsubClient(conf pubsubConf) {
	if conf.Size < 24 {
		conf.Size = 24
	}
	s := &pubsubState{id: uint64(conf.ID), tokens: make(chan struct{}, conf.Window)}
	for range conf.Window {
		s.tokens <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var publish func([]byte) error
	var disconnects atomic.Uint64
	switch conf.Impl {
	case "ours":
		c, err := channel.Dial(ctx, conf.Addr, &channel.Options{OnDisconnect: func(string) { disconnects.Add(1) }})
		if err != nil {
			fail(err)
		}
		c.On(pubsubEvent, func(d channel.Data) {
			b := d.Bytes()
			s.onMessage(u64(b, 0), int64(u64(b, 8)))
		})
		// The subscription and the count travel in order on the client's
		// one connection: the answer means the server has subscribed us.
		if _, err := c.CountContext(ctx, pubsubEvent); err != nil {
			fail(err)
		}
		publish = func(b []byte) error { return c.Publish(pubsubEvent, b) }
	case "redis":
		rdb := redis.NewClient(&redis.Options{Addr: conf.Addr, PoolSize: conf.Publishers + 2})
		ps := rdb.Subscribe(ctx, pubsubEvent)
		if _, err := ps.Receive(ctx); err != nil {
			fail(err)
		}
		go func() {
			for {
				m, err := ps.ReceiveMessage(context.Background())
				if err != nil {
					if !errors.Is(err, redis.ErrClosed) {
						disconnects.Add(1)
					}
					return
				}
				s.onMessage(u64(m.Payload, 0), int64(u64(m.Payload, 8)))
			}
		}()
		bg := context.Background()
		publish = func(b []byte) error { return rdb.Publish(bg, pubsubEvent, b).Err() }
	default:
		fail(fmt.Errorf("unknown implementation %q", conf.Impl))
	}
	cmds, start, warm, end, ok := awaitGo()
	if !ok {
		return
	}
	late := max(0, time.Now().UnixNano()-start)
	s.warm.Store(warm)
	s.end.Store(end)

	var mallocs [2]uint64
	var mwg sync.WaitGroup
	mwg.Add(1)
	go func() {
		defer mwg.Done()
		var ms runtime.MemStats
		time.Sleep(time.Until(time.Unix(0, warm)))
		runtime.ReadMemStats(&ms)
		mallocs[0] = ms.Mallocs
		time.Sleep(time.Until(time.Unix(0, end)))
		runtime.ReadMemStats(&ms)
		mallocs[1] = ms.Mallocs
	}()

	time.Sleep(time.Until(time.Unix(0, start)))
	var published, refused, seq atomic.Uint64
	var n atomic.Int64
	var wg sync.WaitGroup
	var interval int64
	if conf.Rate > 0 {
		interval = int64(float64(time.Second) / conf.Rate)
	}
	for range conf.Publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, conf.Size)
			for i := 24; i < len(buf); i++ {
				buf[i] = 'x'
			}
			put64(buf, s.id)
			for {
				<-s.tokens
				if interval > 0 {
					due := start + (n.Add(1)-1)*interval
					if due >= end {
						s.tokens <- struct{}{}
						return
					}
					if d := time.Until(time.Unix(0, due)); d > 0 {
						time.Sleep(d)
					}
				}
				now := time.Now().UnixNano()
				if now >= end {
					s.tokens <- struct{}{}
					return
				}
				put64(buf[8:], uint64(now))
				put64(buf[16:], seq.Add(1))
				if err := publish(buf); err != nil {
					refused.Add(1)
					s.tokens <- struct{}{}
					time.Sleep(time.Millisecond)
					continue
				}
				if now >= warm {
					published.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	mwg.Wait()
	// Let the messages in flight arrive (all own ones back, or 5 s).
	deadline := time.Now().Add(5 * time.Second)
	for len(s.tokens) < conf.Window && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	s.mu.Lock()
	res := pubsubResult{Delivered: s.delivered, Published: published.Load(), Lat: &s.lat,
		Mallocs: mallocs[1] - mallocs[0], Errors: refused.Load(), Disconnects: disconnects.Load(), Late: late}
	say("result", &res)
	s.mu.Unlock()
	for range cmds {
	}
}

// relayConf configures a process that runs one of our servers alone.
type relayConf struct {
	Kind string // "channel" or "globaldata"
}

// relay runs a channel (or GlobalData) server on a free loopback port in
// this process, on its event loop, until stdin closes.
func relay(conf relayConf) {
	var w *workerman.Worker
	switch conf.Kind {
	case "channel":
		w = channel.NewServer("127.0.0.1:0").Worker
	case "globaldata":
		w = newGlobalDataServer()
	default:
		fail(fmt.Errorf("unknown relay %q", conf.Kind))
	}
	workerman.StartLoop()
	errc := make(chan error, 1)
	workerman.Post(func() {
		err := w.Listen()
		if err == nil && w.OnWorkerStart != nil {
			w.OnWorkerStart(w)
		}
		errc <- err
	})
	if err := <-errc; err != nil {
		fail(err)
	}
	say("ready", w.Addr().String())
	for range stdinLines() {
	}
}

// pubsubRun is one measured run of row 1 against one implementation.
func pubsubRun(o *options, impl string, total float64) (measure, error) {
	var m measure
	addr, relayPID, stopRelay, err := startRelay(impl, "channel")
	if err != nil {
		return m, err
	}
	defer stopRelay()
	var clients []*proc
	defer func() { stopAll(clients) }()
	rate := 0.0
	if total > 0 {
		rate = total / float64(o.pubsubProcs)
	}
	for i := range o.pubsubProcs {
		c, err := startProc("pubsub client "+strconv.Itoa(i+1), "pubsub", pubsubConf{
			Impl: impl, Addr: addr, ID: i + 1, Size: o.size, Window: o.window, Publishers: o.publishers, Rate: rate,
		})
		if err != nil {
			return m, err
		}
		clients = append(clients, c)
	}
	w, err := measureWindow(clients, relayPID, o.warmup, o.duration)
	if err != nil {
		return m, err
	}
	var lat hist
	var delivered, published, mallocs, errs, disc uint64
	var late time.Duration
	for _, c := range clients {
		var r pubsubResult
		if err := c.result(&r, 30*time.Second); err != nil {
			return m, err
		}
		lat.merge(r.Lat)
		delivered += r.Delivered
		published += r.Published
		mallocs += r.Mallocs
		errs += r.Errors
		disc += r.Disconnects
		late = max(late, time.Duration(r.Late))
	}
	if delivered == 0 {
		return m, fmt.Errorf("no message delivered in the measured window (published %d, refused %d, disconnects %d, a process started %v late)", published, errs, disc, late)
	}
	m.rate = float64(delivered) / o.duration.Seconds()
	m.p50, m.p99 = lat.quantile(0.50), lat.quantile(0.99)
	m.serverCPU = perItem(w.relayCPU, delivered)
	m.clientCPU = perItem(w.clientCPU, delivered)
	m.serverIO = float64(w.relayIO) / float64(delivered)
	m.allocs = float64(mallocs) / float64(delivered)
	if want := published * uint64(o.pubsubProcs); delivered+delivered/50 < want || errs > 0 || disc > 0 {
		m.note = fmt.Sprintf("published %d in the window (×%d subscribers = %d), delivered %d, refused %d, disconnects %d", published, o.pubsubProcs, want, delivered, errs, disc)
	}
	if late > o.warmup/2 {
		m.note += fmt.Sprintf(" (a process started %v late: the machine is overloaded)", late.Round(time.Millisecond))
	}
	return m, nil
}

// startRelay starts what the clients of a row talk to: our server (kind
// "channel" or "globaldata") in a process of its own, or a redis-server.
func startRelay(impl, kind string) (addr string, pid int, stop func(), err error) {
	if impl == "redis" {
		r, err := startRedis()
		if err != nil {
			return "", 0, nil, err
		}
		return r.addr, r.pid(), r.stop, nil
	}
	p, err := startProc(kind+" server", "relay", relayConf{Kind: kind})
	if err != nil {
		return "", 0, nil, err
	}
	addr, err = p.expect("ready", 20*time.Second)
	if err != nil {
		p.stop(0)
		return "", 0, nil, err
	}
	return addr, p.cmd.Process.Pid, func() { p.stop(0) }, nil
}

// perItem is a CPU time divided by a count.
func perItem(d time.Duration, n uint64) time.Duration {
	if n == 0 {
		return 0
	}
	return d / time.Duration(n)
}
