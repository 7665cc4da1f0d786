package http_test

import (
	"fmt"
	"io"
	nethttp "net/http"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	"github.com/workerman-go/workerman/protocols/http"
)

// The manual's first example: an HTTP worker that answers "hello world".
func Example() {
	w := workerman.NewWorker("http://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) {
		req := data.(*http.Request)
		c.Send("hello " + req.Get("name"))
	}
	// In a program: workerman.RunAll(). Here the worker runs inside the
	// example's process.
	var addr string
	wmtest.Do(func() {
		w.Listen()
		addr = w.Addr().String()
	})
	defer wmtest.Do(w.Stop)

	resp, err := nethttp.Get("http://" + addr + "/?name=world")
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(b))
	// Output: 200 hello world
}

// A response with headers and a cookie.
func ExampleNewResponse() {
	resp := http.NewResponse(200, map[string]string{"Content-Type": "application/json"}, `{"ok":true}`).
		WithCookie(&http.Cookie{Name: "theme", Value: "dark", MaxAge: 3600, HttpOnly: true})
	fmt.Println(resp.StatusCode(), resp.GetHeader("content-type"))
	// Output: 200 application/json
}

// A chunked response streamed from a timer.
func ExampleChunk() {
	w := workerman.NewWorker("http://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) {
		c.Send(http.NewResponse(200, map[string]string{"Transfer-Encoding": "chunked"}, "one "))
		workerman.Timer.Once(10*time.Millisecond, func() {
			c.Send(http.Chunk("two"))
			c.Send(http.Chunk("")) // ends the body
		})
	}
	var addr string
	wmtest.Do(func() { w.Listen(); addr = w.Addr().String() })
	defer wmtest.Do(w.Stop)
	resp, err := nethttp.Get("http://" + addr + "/")
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(b))
	// Output: one two
}

// Serving a net/http ServeMux on a Workerman worker.
func ExampleHandler() {
	mux := nethttp.NewServeMux()
	mux.HandleFunc("GET /hello/{name}", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		fmt.Fprintf(w, "hello %s", r.PathValue("name"))
	})
	w := workerman.NewWorker("http://127.0.0.1:0")
	w.OnMessage = http.Handler(mux)
	var addr string
	wmtest.Do(func() { w.Listen(); addr = w.Addr().String() })
	defer wmtest.Do(w.Stop)
	resp, err := nethttp.Get("http://" + addr + "/hello/gopher")
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(b))
	// Output: hello gopher
}

// Sessions: a visit counter per client.
func ExampleRequest_Session() {
	w := workerman.NewWorker("http://0.0.0.0:8080")
	w.OnMessage = func(c *workerman.Connection, data any) {
		req := data.(*http.Request)
		s, err := req.Session()
		if err != nil {
			c.Send(http.NewResponse(500, nil, "session store unavailable"))
			return
		}
		n, _ := s.Get("visits").(float64)
		s.Set("visits", n+1)
		c.Send(fmt.Sprintf("visit %v", n+1))
	}
	_ = w // workerman.RunAll()
}

// The manual's WebServer with two sites.
func ExampleNewWebServer() {
	ws := http.NewWebServer("http://0.0.0.0:8080")
	ws.AddRoot("www.example.com", "/your/path/of/web/")
	ws.AddRoot("blog.example.com", "/your/path/of/blog/")
	ws.Count = 4
	// Requests for missing files go to the index handler.
	ws.Handler = func(c *workerman.Connection, r *http.Request) {
		c.Send(http.NewResponse(404, nil, "no page "+r.Path()))
	}
	_ = ws // workerman.RunAll()
}
