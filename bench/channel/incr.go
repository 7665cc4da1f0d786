package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/globaldata"
)

// Row 3, increment: Procs processes, each with Callers requests in flight
// on one key: ours, Callers goroutines calling GlobalData's
// IncrementContext in a loop (or, with Callback, Callers chains of the
// callback-style Increment on the loop, each call started by the previous
// one's callback); redis, Callers goroutines calling go-redis Incr.

const incrKey = "bench:counter"

type incrConf struct {
	Impl     string
	Addr     string
	Callers  int
	Callback bool // ours: the callback style on the loop
}

type incrResult struct {
	Ops     uint64 // completed in the window
	Lat     *hist
	Mallocs uint64
	Errors  uint64
	Late    int64 // ns between the agreed start and the start command's arrival
}

func newGlobalDataServer() *workerman.Worker {
	return globaldata.NewServer("127.0.0.1:0").Worker
}

// incrClient is one process of the row.
func incrClient(conf incrConf) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var incr func(context.Context) error
	var gd *globaldata.Client
	switch conf.Impl {
	case "ours":
		c, err := globaldata.Dial(ctx, []string{conf.Addr}, nil)
		if err != nil {
			fail(err)
		}
		// Increment leaves a key that is not set alone, as in Workerman.
		if _, err := c.AddContext(ctx, incrKey, 0); err != nil {
			fail(err)
		}
		gd = c
		incr = func(ctx context.Context) error {
			_, ok, err := c.IncrementContext(ctx, incrKey, 1)
			if err == nil && !ok {
				err = errors.New("increment: key not set")
			}
			return err
		}
	case "redis":
		rdb := redis.NewClient(&redis.Options{Addr: conf.Addr, PoolSize: conf.Callers + 2})
		if err := rdb.Ping(ctx).Err(); err != nil {
			fail(err)
		}
		incr = func(ctx context.Context) error { return rdb.Incr(ctx, incrKey).Err() }
	default:
		fail(fmt.Errorf("unknown implementation %q", conf.Impl))
	}
	cmds, start, warm, end, ok := awaitGo()
	if !ok {
		return
	}
	late := max(0, time.Now().UnixNano()-start)
	var m0, m1 uint64
	var mwg sync.WaitGroup
	mwg.Add(1)
	go func() {
		defer mwg.Done()
		time.Sleep(time.Until(time.Unix(0, warm)))
		m0 = mallocs()
		time.Sleep(time.Until(time.Unix(0, end)))
		m1 = mallocs()
	}()
	time.Sleep(time.Until(time.Unix(0, start)))

	var mu sync.Mutex
	res := incrResult{Lat: &hist{}}
	if conf.Callback && gd != nil {
		// Callers chains on the loop; the last callback to see the end
		// closes done.
		var lat hist
		var ops, errs uint64
		done := make(chan struct{})
		active := conf.Callers
		var next func()
		next = func() {
			t0 := time.Now().UnixNano()
			if t0 >= end {
				if active--; active == 0 {
					close(done)
				}
				return
			}
			gd.Increment(incrKey, 1, func(_ int64, ok bool, err error) {
				t1 := time.Now().UnixNano()
				if err != nil || !ok {
					errs++
				} else if t1 >= warm && t1 < end {
					lat.record(t1 - t0)
					ops++
				}
				next()
			})
		}
		workerman.Post(func() {
			for range conf.Callers {
				next()
			}
		})
		<-done
		done2 := make(chan struct{})
		workerman.Post(func() {
			res.Lat.merge(&lat)
			res.Ops, res.Errors = ops, errs
			close(done2)
		})
		<-done2
	} else {
		var wg sync.WaitGroup
		var errs atomic.Uint64
		bg := context.Background()
		for range conf.Callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var lat hist
				var ops uint64
				for {
					t0 := time.Now().UnixNano()
					if t0 >= end {
						break
					}
					err := incr(bg)
					t1 := time.Now().UnixNano()
					if err != nil {
						if errs.Add(1) == 1 {
							fmt.Fprintln(os.Stderr, "increment:", err)
						}
						continue
					}
					if t1 >= warm && t1 < end {
						lat.record(t1 - t0)
						ops++
					}
				}
				mu.Lock()
				res.Lat.merge(&lat)
				res.Ops += ops
				mu.Unlock()
			}()
		}
		wg.Wait()
		res.Errors = errs.Load()
	}
	mwg.Wait()
	res.Mallocs = m1 - m0
	res.Late = late
	say("result", &res)
	for range cmds {
	}
}

// incrRun is one measured run of row 3 against one implementation.
func incrRun(o *options, impl string) (measure, error) {
	var m measure
	addr, relayPID, stopRelay, err := startRelay(impl, "globaldata")
	if err != nil {
		return m, err
	}
	defer stopRelay()
	var clients []*proc
	defer func() { stopAll(clients) }()
	for i := range o.incrProcs {
		c, err := startProc("incr client "+strconv.Itoa(i+1), "incr", incrConf{
			Impl: impl, Addr: addr, Callers: o.callers, Callback: o.incrCallback,
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
	var ops, mallocs, errs uint64
	var late time.Duration
	for _, c := range clients {
		var r incrResult
		if err := c.result(&r, 30*time.Second); err != nil {
			return m, err
		}
		lat.merge(r.Lat)
		ops += r.Ops
		mallocs += r.Mallocs
		errs += r.Errors
		late = max(late, time.Duration(r.Late))
	}
	if ops == 0 {
		return m, fmt.Errorf("no operation completed in the measured window (%d failed calls, a process started %v late)", errs, late)
	}
	m.rate = float64(ops) / o.duration.Seconds()
	m.p50, m.p99 = lat.quantile(0.50), lat.quantile(0.99)
	m.serverCPU = perItem(w.relayCPU, ops)
	m.clientCPU = perItem(w.clientCPU, ops)
	m.serverIO = float64(w.relayIO) / float64(ops)
	m.allocs = float64(mallocs) / float64(ops)
	if errs > 0 {
		m.note = fmt.Sprintf("%d failed calls", errs)
	}
	if late > o.warmup/2 {
		m.note += fmt.Sprintf(" (a process started %v late: the machine is overloaded)", late.Round(time.Millisecond))
	}
	return m, nil
}
