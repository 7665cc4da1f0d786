// Command loadgen drives an echo server with request/response traffic and
// prints messages per second and round-trip latency.
//
//	loadgen -addr 127.0.0.1:9001 -c 50 -size 64 -depth 1 -warmup 1s -d 5s [-rate 20000]
//
// Each of the -c connections sends -depth messages of -size bytes, waits
// for all of them to come back unchanged, and repeats. Pin it to a core of
// its own (taskset -c 1 loadgen ...) when measuring.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/workerman-go/workerman/bench/loadgen"
)

func main() {
	var cfg loadgen.Config
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:9001", "server address")
	flag.IntVar(&cfg.Conns, "c", 50, "connections")
	flag.IntVar(&cfg.Payload, "size", 64, "message size in bytes")
	flag.IntVar(&cfg.Depth, "depth", 1, "messages in flight per connection")
	flag.DurationVar(&cfg.Warmup, "warmup", time.Second, "warm-up before measuring")
	flag.DurationVar(&cfg.Duration, "d", 5*time.Second, "measured duration")
	flag.IntVar(&cfg.Threads, "threads", 1, "epoll loops")
	flag.Float64Var(&cfg.Rate, "rate", 0, "messages per second in all (0: as fast as the server answers)")
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	h := res.Latency
	fmt.Printf("%d conns x %d B x depth %d: %.0f msg/s, %.1f MB/s, latency p50 %v p99 %v p99.9 %v max %v (%d messages in %v)\n",
		cfg.Conns, cfg.Payload, max(cfg.Depth, 1), res.Rate(), float64(res.Bytes)/res.Elapsed.Seconds()/1e6,
		h.Quantile(0.5), h.Quantile(0.99), h.Quantile(0.999), h.Max(), res.Messages, res.Elapsed.Round(time.Millisecond))
}
