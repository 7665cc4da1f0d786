// Command clients-dns resolves names from a worker with net.Resolver, each
// lookup with its own timeout, on a bounded workerman.AsyncPool: the event
// loop never waits for a DNS server, and a dead one costs at most the pool's
// goroutines for the timeout.
//
//	go run ./examples/clients-dns start
//	telnet 127.0.0.1 8093
//	example.com
//
// TEXT_LISTEN moves the server; DNS_SERVER (host:port) sends the lookups to
// that server instead of the system's.
package main

import (
	"context"
	"log"
	"net"
	"os"
	"strings"
	"time"

	"github.com/workerman-go/workerman"
)

// lookupTimeout bounds one lookup, retries included.
const lookupTimeout = 2 * time.Second

// newResolver returns Go's own resolver, sent to server (host:port) when
// it is not empty. PreferGo keeps lookups off cgo's threads, so they honour
// the context's deadline and cost goroutines, not OS threads.
func newResolver(server string) *net.Resolver {
	r := &net.Resolver{PreferGo: true}
	if server != "" {
		d := net.Dialer{Timeout: lookupTimeout}
		r.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, server)
		}
	}
	return r
}

// newServer returns a text worker: a host name per line, its addresses
// (space separated, sorted as the server gave them) or "error: …" back.
func newServer(listen, dnsServer string) *workerman.Worker {
	w := workerman.NewWorker("text://" + listen)
	w.Count = 2
	w.Name = "clients-dns"
	res := newResolver(dnsServer)
	pool := &workerman.AsyncPool{Workers: 32, Queue: 256}
	w.OnMessage = func(c *workerman.Connection, data any) {
		host := strings.TrimSpace(data.(string))
		err := workerman.AsyncOn(pool, c, func(ctx context.Context) ([]string, error) {
			ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
			defer cancel()
			return res.LookupHost(ctx, host)
		}, func(addrs []string, err error) {
			if err != nil {
				c.Send("error: " + err.Error())
				return
			}
			c.Send(strings.Join(addrs, " "))
		})
		if err != nil {
			c.Send("error: " + err.Error())
		}
	}
	return w
}

func main() {
	listen := os.Getenv("TEXT_LISTEN")
	if listen == "" {
		listen = "0.0.0.0:8093"
	}
	newServer(listen, os.Getenv("DNS_SERVER"))
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
