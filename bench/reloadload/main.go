// Command reloadload measures what a rolling reload costs clients: it
// keeps several clients opening short connections (connect, one request,
// read the reply, close) against a running program while it runs the
// program's reload command over and over, and counts the requests that
// failed. A reload must lose none.
//
// With the process-manager test program:
//
//	go build -o /tmp/svc ./testdata/apps/svc
//	export SVC_PIDFILE=/tmp/svc.pid SVC_ADDR=text://127.0.0.1:17111 SVC_COUNT=4
//	/tmp/svc start -d
//	(cd bench && go run ./reloadload -bin /tmp/svc -addr 127.0.0.1:17111)
//	/tmp/svc stop
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	bin := flag.String("bin", "", "the program to reload (its reload command is run)")
	addr := flag.String("addr", "127.0.0.1:17111", "address of its text worker")
	clients := flag.Int("clients", 8, "concurrent clients")
	reloads := flag.Int("reloads", 10, "reloads to run; every other one is reload -g")
	gap := flag.Duration("gap", 300*time.Millisecond, "pause between reloads")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "reloadload: -bin is required")
		os.Exit(2)
	}

	var ok, failed atomic.Int64
	var mu sync.Mutex
	errs := map[string]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	deadline := time.Now().Add(10 * time.Minute)
	for i := 0; i < *clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				select {
				case <-stop:
					return
				default:
				}
				if err := request(*addr); err != nil {
					failed.Add(1)
					mu.Lock()
					errs[err.Error()]++
					mu.Unlock()
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	start := time.Now()
	for i := 0; i < *reloads; i++ {
		time.Sleep(*gap)
		args := []string{"reload"}
		if i%2 == 1 {
			args = append(args, "-g")
		}
		if out, err := exec.Command(*bin, args...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "reload: %v\n%s", err, out)
		}
	}
	time.Sleep(*gap)
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Printf("%d reloads in %v: %d requests ok (%.0f/s), %d failed\n",
		*reloads, elapsed.Round(time.Millisecond), ok.Load(), float64(ok.Load())/elapsed.Seconds(), failed.Load())
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  %6d × %s\n", errs[k], k)
	}
	if failed.Load() > 0 {
		os.Exit(1)
	}
}

// request makes one short connection: connect, "ping", read the reply,
// close.
func request(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	r, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(r, "pong") {
		return fmt.Errorf("unexpected reply %q", r)
	}
	return nil
}
