package loadgen_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/workerman-go/workerman/bench/loadgen"
)

func ExampleRun() {
	// An echo server to drive.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()

	res, err := loadgen.Run(context.Background(), loadgen.Config{
		Addr:     ln.Addr().String(),
		Conns:    10,
		Payload:  64,
		Warmup:   50 * time.Millisecond,
		Duration: 200 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("echoed:", res.Messages > 0)
	fmt.Println("p99 within max:", res.Latency.Quantile(0.99) <= res.Latency.Max())
	// Output:
	// echoed: true
	// p99 within max: true
}
