// Command http is the manual's HTTP worker grown a little: hello world,
// a session counter, a chunked stream, server-sent events, a net/http
// router under /api/, and static files from ./public.
//
//	go run ./examples/http start
//	curl http://127.0.0.1:2345/
//	curl -c jar -b jar http://127.0.0.1:2345/count
//	curl -N http://127.0.0.1:2345/events
//	curl http://127.0.0.1:2345/api/hello/gopher
package main

import (
	"fmt"
	"log"
	nethttp "net/http"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/protocols/http"
)

func main() {
	api := nethttp.NewServeMux()
	api.HandleFunc("GET /api/hello/{name}", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		fmt.Fprintf(w, "hello %s\n", r.PathValue("name"))
	})
	apiHandler := http.Handler(api)

	ws := http.NewWebServer("http://0.0.0.0:2345")
	ws.Count = 4
	if err := ws.AddRoot("", "./public"); err != nil {
		log.Printf("no static files: %v", err)
	}
	// Requests that match no file come here.
	ws.Handler = func(c *workerman.Connection, r *http.Request) {
		switch p := r.Path(); {
		case p == "/":
			c.Send("hello world")
		case p == "/count":
			s, err := r.Session()
			if err != nil {
				c.Send(http.NewResponse(500, nil, err.Error()))
				return
			}
			n, _ := s.Get("n").(float64)
			s.Set("n", n+1)
			c.Send(fmt.Sprintf("visit %v\n", n+1))
		case p == "/stream":
			c.Send(http.NewResponse(200, map[string]string{"Transfer-Encoding": "chunked", "Content-Type": "text/plain"}, "counting:\n"))
			for i := 1; i <= 3; i++ {
				workerman.Timer.Once(time.Duration(i)*300*time.Millisecond, func() {
					c.Send(http.Chunk(fmt.Sprintf("%d\n", i)))
					if i == 3 {
						c.Send(http.Chunk(""))
					}
				})
			}
		case p == "/events":
			c.Send(http.NewResponse(200, map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}, ""))
			id := workerman.Timer.Add(time.Second, func() {
				c.Send(&http.ServerSentEvent{Event: "time", Data: time.Now().Format(time.RFC3339)})
			})
			c.OnClose = func(*workerman.Connection) { workerman.Timer.Del(id) }
		case len(p) > 5 && p[:5] == "/api/":
			apiHandler(c, r)
		default:
			c.Send(http.NewResponse(404, nil, "not found\n"))
		}
	}
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
