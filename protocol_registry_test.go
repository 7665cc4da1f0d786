package workerman_test

import (
	"bufio"
	"strings"
	"testing"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// TestListenWSRefused: ws:// (and wss://) is the client side of WebSocket;
// a worker created with it is refused with an error that names
// websocket://, instead of listening and sending a client handshake to
// every client.
func TestListenWSRefused(t *testing.T) {
	for _, addr := range []string{"ws://127.0.0.1:0", "WS://127.0.0.1:0", "wss://127.0.0.1:0"} {
		w := workerman.NewWorker(addr)
		var err error
		wmtest.Do(func() { err = w.Listen() })
		if err == nil {
			wmtest.Do(w.Stop)
			t.Fatalf("Listen(%q) succeeded", addr)
		}
		if !strings.Contains(err.Error(), "websocket://127.0.0.1:0") || !strings.Contains(err.Error(), "client") {
			t.Errorf("Listen(%q) = %v, want it to point to websocket://127.0.0.1:0", addr, err)
		}
		if w.Addr() != nil {
			t.Errorf("%s: listening on %v", addr, w.Addr())
		}
	}
}

// upperText is a user protocol registered under the name of the built-in
// text protocol: lines, answered in upper case.
type upperText struct{}

func (upperText) Input(buf []byte, c *workerman.Connection) (int, error) {
	return workerman.Text.Input(buf, c)
}

func (upperText) Decode(pkg []byte, c *workerman.Connection) (any, error) {
	return workerman.Text.Decode(pkg, c)
}

func (upperText) Encode(dst []byte, data any, c *workerman.Connection) ([]byte, error) {
	return append(append(dst, "USER:"+strings.ToUpper(data.(string))...), '\n'), nil
}

// TestRegisterProtocolReplacesBuiltIn: a protocol registered under the
// name of a built-in one replaces it for the workers created afterwards.
func TestRegisterProtocolReplacesBuiltIn(t *testing.T) {
	builtin, _ := workerman.LookupProtocol("text")
	t.Cleanup(func() { workerman.RegisterProtocol("text", builtin) })
	if err := workerman.RegisterProtocol("Text", upperText{}); err != nil {
		t.Fatal(err)
	}
	if p, _ := workerman.LookupProtocol("text"); p != (upperText{}) {
		t.Fatalf("LookupProtocol(text) = %T", p)
	}
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(data) }
	addr := wmtest.Serve(t, w)
	c := dial(t, "tcp", addr)
	c.Write([]byte("hello\n"))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "USER:HELLO\n" {
		t.Fatalf("reply %q %v, want the user protocol's USER:HELLO", line, err)
	}
	if err := workerman.RegisterProtocol("tcp", upperText{}); err == nil {
		t.Error("a transport scheme was accepted as a protocol name")
	}
}
