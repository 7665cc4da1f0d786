package http_test

import (
	"fmt"
	"io"
	nethttp "net/http"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	"github.com/workerman-go/workerman/protocols/http"
)

// A handler that takes the request typed, answering with JSON.
func ExampleOnRequest() {
	w := workerman.NewWorker("http://127.0.0.1:0")
	w.OnMessage = http.OnRequest(func(c *workerman.Connection, r *http.Request) {
		c.Send(http.JSON(200, map[string]string{"hello": r.Get("name")}))
	})
	var addr string
	wmtest.Do(func() { w.Listen(); addr = w.Addr().String() })
	defer wmtest.Do(w.Stop)

	resp, err := nethttp.Get("http://" + addr + "/?name=world")
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), string(b))
	// Output: 200 application/json {"hello":"world"}
}

// JSON encodes a value as the body of a response.
func ExampleJSON() {
	resp := http.JSON(201, struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}{7, "seven"})
	fmt.Println(resp.StatusCode(), resp.GetHeader("Content-Type"))
	// Output: 201 application/json
}
