package workerman_test

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

func dial(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTCPEcho(t *testing.T) {
	w := workerman.NewWorker("tcp://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(data) }
	addr := wmtest.Serve(t, w)
	c := dial(t, "tcp", addr)
	for _, m := range []string{"hello", "world", "x"} {
		if _, err := c.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(m))
		if _, err := io_ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		if string(buf) != m {
			t.Fatalf("echo %q, want %q", buf, m)
		}
	}
}

func TestTextProtocol(t *testing.T) {
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send("got " + data.(string)) }
	addr := wmtest.Serve(t, w)
	c := dial(t, "tcp", addr)
	c.Write([]byte("one\r\ntwo\nthr"))
	c.Write([]byte("ee\n"))
	r := bufio.NewReader(c)
	for _, want := range []string{"got one\n", "got two\n", "got three\n"} {
		line, err := r.ReadString('\n')
		if err != nil || line != want {
			t.Fatalf("got %q %v, want %q", line, err, want)
		}
	}
}
