// Command clients-http calls HTTP APIs from a WebSocket worker with
// net/http's client: each message is a URL, the answer is its status and
// body. One http.Client per process keeps its connections alive and reuses
// them; the requests run on a bounded workerman.AsyncPool, and a request
// whose WebSocket client has gone is canceled.
//
//	go run ./examples/clients-http start
//	// in a browser console:
//	ws = new WebSocket("ws://127.0.0.1:8092"); ws.onmessage = e => console.log(e.data)
//	ws.send("https://example.com/")
//
// WS_LISTEN moves the server.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	nethttp "net/http"
	"os"
	"time"

	"github.com/workerman-go/workerman"
	_ "github.com/workerman-go/workerman/protocols/websocket"
)

// maxBody bounds how much of a response is read and sent on.
const maxBody = 64 << 10

// newClient returns the process's HTTP client: connections are kept alive
// and reused (as many idle ones per host as requests may run at once), and
// every phase has a deadline.
func newClient(perHost int) *nethttp.Client {
	tr := &nethttp.Transport{
		Proxy:                 nethttp.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          4 * perHost,
		MaxIdleConnsPerHost:   perHost,
		MaxConnsPerHost:       perHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &nethttp.Client{Transport: tr, Timeout: 15 * time.Second}
}

// fetch GETs url and returns "status length\nbody" (body cut at maxBody).
// The body is read to its end (up to the cut) so the connection goes back
// to the pool for the next request.
func fetch(ctx context.Context, cl *nethttp.Client, url string) (string, error) {
	req, err := nethttp.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return "", err
	}
	resp, err := cl.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody)) // let a slightly longer body finish, for reuse
	return fmt.Sprintf("%d %d\n%s", resp.StatusCode, len(b), b), nil
}

// newServer returns the WebSocket worker.
func newServer(listen string) *workerman.Worker {
	w := workerman.NewWorker("websocket://" + listen)
	w.Count = 2
	w.Name = "clients-http"
	const parallel = 8
	var cl *nethttp.Client
	pool := &workerman.AsyncPool{Workers: parallel, Queue: 128}
	w.OnWorkerStart = func(*workerman.Worker) { cl = newClient(parallel) }
	w.OnWorkerStop = func(*workerman.Worker) { cl.CloseIdleConnections() }
	w.OnMessage = func(c *workerman.Connection, data any) {
		url := data.(string)
		err := workerman.AsyncOn(pool, c, func(ctx context.Context) (string, error) {
			// ctx ends when this WebSocket closes: the request is
			// abandoned and its connection closed.
			return fetch(ctx, cl, url)
		}, func(s string, err error) {
			if err != nil {
				c.Send("error: " + err.Error())
				return
			}
			c.Send(s)
		})
		if err != nil {
			c.Send("error: " + err.Error())
		}
	}
	return w
}

func main() {
	listen := os.Getenv("WS_LISTEN")
	if listen == "" {
		listen = "0.0.0.0:8092"
	}
	newServer(listen)
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
