package http_test

import (
	"io"
	"testing"

	"github.com/workerman-go/workerman"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

func TestHelloWorldManualExample(t *testing.T) {
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) { c.Send("hello world") })
	cl := client()
	for i := 0; i < 3; i++ {
		resp, err := cl.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "hello world" {
			t.Fatalf("got %d %q", resp.StatusCode, b)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/html;charset=utf-8" {
			t.Fatalf("content type %q", ct)
		}
	}
}
