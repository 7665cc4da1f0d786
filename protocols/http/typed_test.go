package http_test

import (
	"io"
	"net"
	nethttp "net/http"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	"github.com/workerman-go/workerman/protocols/http"
)

// Sending a value the HTTP protocol cannot encode fails the send and
// reaches OnError with SendFail and a message that names the type.
func TestEncodeFailureReachesOnError(t *testing.T) {
	type report struct {
		res  workerman.SendResult
		code int
		msg  string
	}
	got := make(chan report, 1)
	w := workerman.NewWorker("http://127.0.0.1:0")
	var errCode int
	var errMsg string
	w.OnError = func(c *workerman.Connection, code int, msg string) { errCode, errMsg = code, msg }
	w.OnMessage = http.OnRequest(func(c *workerman.Connection, r *http.Request) {
		res := c.Send(map[string]string{"a": "b"})
		got <- report{res, errCode, errMsg}
		c.Send(http.JSON(200, map[string]string{"a": "b"}))
	})
	addr := wmtest.Serve(t, w)
	resp, err := nethttp.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := <-got
	if r.res != workerman.SendFailed || r.code != workerman.SendFail || !strings.Contains(r.msg, "map[string]string") {
		t.Errorf("Send(map) = %v, OnError(%d, %q); want SendFailed and OnError(SendFail) naming the type", r.res, r.code, r.msg)
	}
	if resp.StatusCode != 200 || string(b) != `{"a":"b"}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("JSON response: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}

// A value JSON cannot encode answers 500 instead of leaving the client
// without a response.
func TestJSONUnencodable(t *testing.T) {
	w := workerman.NewWorker("http://127.0.0.1:0")
	w.OnMessage = http.OnRequest(func(c *workerman.Connection, r *http.Request) {
		c.Send(http.JSON(200, map[string]any{"ch": make(chan int)}))
	})
	addr := wmtest.Serve(t, w)
	resp, err := nethttp.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(b), "Internal Server Error") {
		t.Errorf("unencodable JSON: %d %q, want 500", resp.StatusCode, b)
	}
}

// A typed HTTP handler on a worker that does not speak HTTP closes the
// connection instead of panicking.
func TestOnRequestOnTextWorker(t *testing.T) {
	called := make(chan struct{}, 1)
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnMessage = http.OnRequest(func(c *workerman.Connection, r *http.Request) { called <- struct{}{} })
	addr := wmtest.Serve(t, w)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte("GET / HTTP/1.1\r\n"))
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := nc.Read(make([]byte, 16)); err != io.EOF {
		t.Errorf("read after a mismatched message: %d bytes, %v; want the connection closed", n, err)
	}
	select {
	case <-called:
		t.Error("the handler ran with a message of another type")
	default:
	}
}
