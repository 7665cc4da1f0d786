// Command shortconn measures short connections: each connection connects,
// sends one 64-byte message, reads the echo and closes, and the next one
// takes its place. It compares the echo servers of bench/echo (this
// framework, gnet v2 and net with a goroutine per connection) in
// alternating rounds and prints connections per second, server CPU per
// connection, and the median same-round ratios.
//
// The generator spreads its connections over several destination
// addresses (127.0.0.1, 127.0.0.2, …; the servers listen on 0.0.0.0) so
// that the client's ports are not what limits the rate.
//
//	cd bench && ./run-echo.sh -h >/dev/null   # builds bin/echo-* (or go build them)
//	go run ./shortconn -bin bin                 # one core per server (pinned), generator on the other
//	go run ./shortconn -bin bin -procs 2        # every server on 2 cores, nothing pinned
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/workerman-go/workerman/bench/loadgen/procstat"
)

func main() {
	bin := flag.String("bin", "bin", "directory holding echo-ours, echo-gnet, echo-net (bench/run-echo.sh builds them)")
	servers := flag.String("servers", "ours,gnet,net", "servers, the first being the one the ratios are about")
	rounds := flag.Int("rounds", 5, "rounds")
	dur := flag.Duration("d", 5*time.Second, "measured window per run")
	warm := flag.Duration("warmup", time.Second, "load before the window")
	conc := flag.Int("c", 64, "connections in flight")
	dsts := flag.Int("dsts", 8, "destination addresses 127.0.0.1 … 127.0.0.N")
	procs := flag.Int("procs", 1, "cores per server (above 1: ours RunAll Count=N, gnet N loops, net GOMAXPROCS=N; nothing pinned)")
	serverCPU := flag.String("server-cpu", "0", "with -procs 1: CPU the servers are pinned to")
	flag.Parse()
	names := strings.Split(*servers, ",")
	cpu := *serverCPU
	threads := 1
	if *procs > 1 {
		cpu = ""
		threads = *procs
	} else {
		// The generator takes the other CPU.
		var set unix.CPUSet
		set.Set(1)
		unix.SchedSetaffinity(0, &set)
	}
	type run struct {
		rate, cpuPerConn float64
	}
	res := map[string][]run{}
	fmt.Printf("short connections: %d in flight over %d destination addresses, %d round(s) of %v, procs=%d, %s\n\n",
		*conc, *dsts, *rounds, *dur, *procs, time.Now().UTC().Format(time.RFC3339))
	for r := 0; r < *rounds; r++ {
		order := slices.Clone(names)
		for i := 0; i < r%len(order); i++ {
			order = append(order[1:], order[0])
		}
		for _, name := range order {
			rate, cpuPer, err := measure(filepath.Join(*bin, "echo-"+name), name, cpu, *procs, threads, *conc, *dsts, *warm, *dur)
			if err != nil {
				fmt.Fprintln(os.Stderr, "shortconn:", name, err)
				os.Exit(1)
			}
			fmt.Printf("round %d %-5s %8.0f conn/s  %6.1f µs server CPU/conn\n", r+1, name, rate, cpuPer/1e3)
			res[name] = append(res[name], run{rate, cpuPer})
		}
	}
	fmt.Println("\n| server | conn/s (median) | server CPU per connection (median) |")
	fmt.Println("|---|--:|--:|")
	for _, n := range names {
		var rates, cpus []float64
		for _, x := range res[n] {
			rates = append(rates, x.rate)
			cpus = append(cpus, x.cpuPerConn)
		}
		fmt.Printf("| %s | %.0f | %.1f µs |\n", n, median(rates), median(cpus)/1e3)
	}
	fmt.Println("\n| ratio | conn/s: median (spread) | CPU per connection: median (spread) |")
	fmt.Println("|---|--:|--:|")
	for _, n := range names[1:] {
		var rr, cr []float64
		for i := range res[names[0]] {
			rr = append(rr, res[names[0]][i].rate/res[n][i].rate)
			cr = append(cr, res[names[0]][i].cpuPerConn/res[n][i].cpuPerConn)
		}
		fmt.Printf("| %s/%s | %.2f (%.2f-%.2f) | %.2f (%.2f-%.2f) |\n", names[0], n, median(rr), slices.Min(rr), slices.Max(rr), median(cr), slices.Min(cr), slices.Max(cr))
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func measure(bin, name, cpu string, procs, threads, conc, dsts int, warm, dur time.Duration) (rate, cpuPerConn float64, err error) {
	port := 20000 + os.Getpid()%20000
	argv := []string{bin, "-addr", "0.0.0.0:" + strconv.Itoa(port)}
	if procs > 1 {
		argv = append(argv, "-procs", strconv.Itoa(procs))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := procstat.Start(ctx, name, argv, cpu, 20*time.Second)
	if err != nil {
		return 0, 0, err
	}
	defer srv.Stop()
	srv.Tree = true // /proc figures only; a RunAll program reloads on SIGUSR1
	var count atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan error, threads)
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			if err := churn(port, conc/threads, dsts, t, &count, &stop); err != nil {
				errc <- err
			}
		}(t)
	}
	time.Sleep(warm)
	before, err := srv.Sample()
	if err != nil {
		return 0, 0, err
	}
	n0 := count.Load()
	time.Sleep(dur)
	after, err := srv.Sample()
	n1 := count.Load()
	stop.Store(true)
	wg.Wait()
	select {
	case err := <-errc:
		return 0, 0, err
	default:
	}
	if err != nil {
		return 0, 0, err
	}
	n := float64(n1 - n0)
	if n == 0 {
		return 0, 0, fmt.Errorf("no connection completed")
	}
	return n / after.At.Sub(before.At).Seconds(), float64(after.CPU-before.CPU) / n, nil
}

// churn keeps conc connections in flight on an epoll loop of its own:
// connect, send 64 bytes, read them back, close, and open the next.
func churn(port, conc, dsts, thread int, count *atomic.Int64, stop *atomic.Bool) error {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(epfd)
	msg := make([]byte, 64)
	buf := make([]byte, 64)
	got := map[int]int{}
	next := thread
	open := func() error {
		dst := &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, byte(1 + next%dsts)}}
		next++
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := unix.Connect(fd, dst); err != nil && err != unix.EINPROGRESS {
			unix.Close(fd)
			return fmt.Errorf("connect: %w", err)
		}
		got[fd] = -1
		return unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLOUT, Fd: int32(fd)})
	}
	for i := 0; i < conc; i++ {
		if err := open(); err != nil {
			return err
		}
	}
	events := make([]unix.EpollEvent, 256)
	for !stop.Load() {
		k, err := unix.EpollWait(epfd, events, 50)
		if err != nil && err != unix.EINTR {
			return err
		}
		for _, ev := range events[:max(k, 0)] {
			fd := int(ev.Fd)
			if got[fd] < 0 {
				if e, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); e != 0 {
					return fmt.Errorf("connect: %w", unix.Errno(e))
				}
				if _, err := unix.Write(fd, msg); err != nil {
					return err
				}
				got[fd] = 0
				unix.EpollCtl(epfd, unix.EPOLL_CTL_MOD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
				continue
			}
			n, err := unix.Read(fd, buf)
			if err == unix.EAGAIN {
				continue
			}
			if err != nil || n == 0 {
				return fmt.Errorf("read: %d %v", n, err)
			}
			got[fd] += n
			if got[fd] < len(msg) {
				continue
			}
			delete(got, fd)
			unix.Close(fd)
			count.Add(1)
			if err := open(); err != nil {
				return err
			}
		}
	}
	for fd := range got {
		unix.Close(fd)
	}
	return nil
}
