package http_test

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

// The HTTP examples of the manual, in Go.

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := client().Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: status %d", url, resp.StatusCode)
	}
	return string(b)
}

// 实例一: new Worker("http://0.0.0.0:2345"), onMessage sends 'hello world'.
func TestManualHTTPWorker(t *testing.T) {
	w := workerman.NewWorker("http://127.0.0.1:0")
	w.Count = 4
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send("hello world") }
	if b := getBody(t, "http://"+wmtest.Serve(t, w)+"/"); b != "hello world" {
		t.Fatalf("got %q", b)
	}
}

// Worker as an http container: var_dump($_GET, $_POST), then "hello".
func TestManualGetPost(t *testing.T) {
	w := workerman.NewWorker("http://127.0.0.1:0")
	var seen string
	w.OnMessage = func(c *workerman.Connection, data any) {
		r := data.(*wmhttp.Request)
		form, _ := r.PostForm()
		seen = fmt.Sprint(r.Query(), form)
		c.Send("hello")
	}
	addr := wmtest.Serve(t, w)
	resp, err := client().Post("http://"+addr+"/?a=1", "application/x-www-form-urlencoded", strings.NewReader("b=2"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wmtest.Do(func() {})
	var s string
	wmtest.Do(func() { s = seen })
	if string(b) != "hello" || s != "map[a:[1]] map[b:[2]]" {
		t.Fatalf("got %q, saw %s", b, s)
	}
}

// $worker->protocol = 'Workerman\Protocols\Http' on a tcp:// worker.
func TestManualWorkerProtocolField(t *testing.T) {
	w := workerman.NewWorker("tcp://127.0.0.1:0")
	w.Protocol = wmhttp.Default
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send("hello") }
	if b := getBody(t, "http://"+wmtest.Serve(t, w)+"/"); b != "hello" {
		t.Fatalf("got %q", b)
	}
}

// $connection->protocol = 'Workerman\Protocols\Http' set in onConnect.
func TestManualConnectionProtocolInOnConnect(t *testing.T) {
	w := workerman.NewWorker("tcp://127.0.0.1:0")
	w.OnConnect = func(c *workerman.Connection) { c.Protocol = wmhttp.Default }
	w.OnMessage = func(c *workerman.Connection, data any) {
		if _, ok := data.(*wmhttp.Request); ok {
			c.Send("hello")
		}
	}
	addr := wmtest.Serve(t, w)
	for i := 0; i < 2; i++ {
		if b := getBody(t, "http://"+addr+"/"); b != "hello" {
			t.Fatalf("got %q", b)
		}
	}
}

// An http worker created and listened inside onWorkerStart (the inner
// worker example, with reusePort).
func TestManualInnerHTTPWorker(t *testing.T) {
	outer := workerman.NewWorker("text://127.0.0.1:0")
	var inner *workerman.Worker
	addrCh := make(chan string, 1)
	outer.OnWorkerStart = func(*workerman.Worker) {
		inner = workerman.NewWorker("http://127.0.0.1:0")
		inner.ReusePort = true
		inner.OnMessage = func(c *workerman.Connection, data any) { c.Send("hello\n") }
		if err := inner.Listen(); err != nil {
			t.Error(err)
			addrCh <- ""
			return
		}
		addrCh <- inner.Addr().String()
	}
	wmtest.Serve(t, outer)
	addr := <-addrCh
	t.Cleanup(func() { wmtest.Do(inner.Stop) })
	if b := getBody(t, "http://"+addr+"/"); b != "hello\n" {
		t.Fatalf("got %q", b)
	}
}

// The manual's MAX_REQUEST example counts requests per process; here the
// count is checked instead of stopping the test's process.
func TestManualRequestCount(t *testing.T) {
	const max = 5
	count := 0
	w := workerman.NewWorker("http://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) {
		count++
		c.Send("hello http")
	}
	addr := wmtest.Serve(t, w)
	for i := 0; i < max; i++ {
		getBody(t, "http://"+addr+"/")
	}
	wmtest.Do(func() {
		if count != max {
			t.Errorf("count %d", count)
		}
	})
}
