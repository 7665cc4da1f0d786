//go:build linux

package workerman_test

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	"golang.org/x/sys/unix"
)

// upperProtocol is a user-defined protocol: lines, upper-cased on decode.
type upperProtocol struct{}

func (upperProtocol) Input(buf []byte, c *workerman.Connection) (int, error) {
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		return i + 1, nil
	}
	return 0, nil
}

func (upperProtocol) Decode(pkg []byte, c *workerman.Connection) (any, error) {
	return strings.ToUpper(string(pkg[:len(pkg)-1])), nil
}

func (upperProtocol) Encode(dst []byte, data any, c *workerman.Connection) ([]byte, error) {
	return append(append(dst, fmt.Sprint(data)...), '\n'), nil
}

func init() { workerman.RegisterProtocol("asyncupper", upperProtocol{}) }

// TestAsyncProtocols connects outbound with each kind of address and
// exchanges messages with a worker of the same protocol.
func TestAsyncProtocols(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	cases := []struct {
		name, listen, scheme string
		send                 any
		want                 string
	}{
		{"tcp", "tcp://127.0.0.1:0", "tcp", "raw bytes", "raw bytes"},
		{"text", "text://127.0.0.1:0", "text", "a line", "a line"},
		{"frame", "frame://127.0.0.1:0", "frame", []byte("a frame"), "a frame"},
		{"custom", "asyncupper://127.0.0.1:0", "asyncupper", "shout", "SHOUT"},
		{"text by name", "text://127.0.0.1:0", "text+localhost", "resolved", "resolved"},
		{"unix", "unix://" + sock, "unix", "over unix", "over unix"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := workerman.NewWorker(tc.listen)
			if tc.scheme == "unix" {
				w.Protocol = workerman.Text
			}
			w.OnMessage = func(c *workerman.Connection, data any) { c.Send(data) }
			addr := wmtest.Serve(t, w)
			target := tc.scheme + "://" + addr
			switch tc.scheme {
			case "text+localhost":
				_, port, _ := net.SplitHostPort(addr)
				target = "text://localhost:" + port
			case "unix":
				target = "unix://" + sock
			}
			r := newAsyncResult()
			var conn *workerman.Connection
			var err error
			wmtest.Do(func() {
				conn, err = workerman.NewAsyncTcpConnection(target, nil)
				if err != nil {
					return
				}
				if tc.scheme == "unix" {
					conn.Protocol = workerman.Text
				}
				r.attach(conn)
				conn.OnConnect = func(c *workerman.Connection) {
					if _, ok := c.TLSConnectionState(); ok {
						t.Error("TLSConnectionState ok on a plain connection")
					}
					r.connected <- c.Transport()
					c.Send(tc.send)
				}
				err = conn.Connect()
			})
			if err != nil {
				t.Fatal(err)
			}
			recv(t, r.connected, "OnConnect")
			if m := recv(t, r.messages, "echo"); m != tc.want {
				t.Fatalf("got %q, want %q", m, tc.want)
			}
			wmtest.Do(func() { conn.Close() })
			recv(t, r.closed, "OnClose")
		})
	}
}

// TestAsyncConnectRefused checks the manual's failure report: OnError with
// ConnectFail and the reason, then OnClose.
func TestAsyncConnectRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	r := newAsyncResult()
	wmtest.Do(func() {
		c, err := workerman.NewAsyncTcpConnection("text://"+addr, nil)
		if err != nil {
			t.Error(err)
			return
		}
		r.attach(c)
		c.Connect()
	})
	msg := recv(t, r.errors, "OnError")
	want := fmt.Sprintf("%d connect to text://%s fail: connect: connection refused", workerman.ConnectFail, addr)
	if msg != want {
		t.Fatalf("OnError %q, want %q", msg, want)
	}
	recv(t, r.closed, "OnClose")
}

// TestAsyncConnectTimeout connects to a listener whose accept queue is
// full, where the kernel drops the SYN, and expects ConnectTimeout.
func TestAsyncConnectTimeout(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
	// Fill the queue until a connect hangs.
	full := false
	for i := 0; i < 16 && !full; i++ {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			full = true
			break
		}
		defer c.Close()
	}
	if !full {
		t.Skip("the kernel accepted every connection; cannot make a connect hang here")
	}
	r := newAsyncResult()
	start := time.Now()
	wmtest.Do(func() {
		c, _ := workerman.NewAsyncTcpConnection("tcp://"+addr, &workerman.DialOptions{ConnectTimeout: 300 * time.Millisecond})
		r.attach(c)
		c.Connect()
	})
	msg := recv(t, r.errors, "OnError")
	if !strings.HasPrefix(msg, fmt.Sprintf("%d connect to tcp://%s fail: ", workerman.ConnectFail, addr)) || !strings.Contains(msg, "timed out after 300ms") {
		t.Fatalf("OnError %q", msg)
	}
	recv(t, r.closed, "OnClose")
	t.Logf("timed out after %v", time.Since(start).Round(time.Millisecond))
}

// TestAsyncBindTo connects from a chosen local address (the manual's
// socket.bindto).
func TestAsyncBindTo(t *testing.T) {
	seen := make(chan string, 1)
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnConnect = func(c *workerman.Connection) { seen <- c.RemoteIP() }
	addr := wmtest.Serve(t, w)
	r := newAsyncResult()
	var local string
	wmtest.Do(func() {
		c, _ := workerman.NewAsyncTcpConnection("text://"+addr, &workerman.DialOptions{BindTo: "127.0.0.2:0"})
		r.attach(c)
		c.OnConnect = func(c *workerman.Connection) {
			local = c.LocalIP()
			r.connected <- c.Transport()
		}
		c.Connect()
	})
	recv(t, r.connected, "OnConnect")
	if ip := recv(t, seen, "server OnConnect"); ip != "127.0.0.2" {
		t.Fatalf("server saw the client at %s, want 127.0.0.2", ip)
	}
	if local != "127.0.0.2" {
		t.Fatalf("LocalIP %q", local)
	}
	// An address that is not on this machine cannot be bound.
	r2 := newAsyncResult()
	wmtest.Do(func() {
		c, _ := workerman.NewAsyncTcpConnection("text://"+addr, &workerman.DialOptions{BindTo: "192.0.2.1:0"})
		r2.attach(c)
		c.Connect()
	})
	if msg := recv(t, r2.errors, "OnError"); !strings.Contains(msg, "bind to 192.0.2.1:0") {
		t.Fatalf("OnError %q", msg)
	}
}

// TestAsyncReconnect keeps a text connection up across a server restart
// and checks that Reconnect's delay is honoured.
func TestAsyncReconnect(t *testing.T) {
	w1 := workerman.NewWorker("text://127.0.0.1:0")
	w1.OnMessage = func(c *workerman.Connection, data any) { c.Send("1:" + data.(string)) }
	addr := wmtest.Serve(t, w1)
	r := newAsyncResult()
	var conn *workerman.Connection
	var attempts atomic.Int32
	wmtest.Do(func() {
		conn, _ = workerman.NewAsyncTcpConnection("text://"+addr, nil)
		r.attach(conn)
		conn.OnConnect = func(c *workerman.Connection) { c.Send("hello") }
		conn.OnClose = func(c *workerman.Connection) {
			attempts.Add(1)
			c.Reconnect(200 * time.Millisecond)
		}
		conn.Connect()
	})
	if m := recv(t, r.messages, "reply"); m != "1:hello" {
		t.Fatal(m)
	}
	wmtest.Do(w1.Stop)
	t0 := time.Now()
	recv(t, r.errors, "first failed attempt")
	recv(t, r.errors, "second failed attempt")
	if d := time.Since(t0); d < 200*time.Millisecond {
		t.Errorf("two attempts within %v: Reconnect's delay not honoured", d)
	}
	w2 := workerman.NewWorker("text://" + addr)
	w2.OnMessage = func(c *workerman.Connection, data any) { c.Send("2:" + data.(string)) }
	wmtest.Serve(t, w2)
	if m := recv(t, r.messages, "reply after restart"); m != "2:hello" {
		t.Fatal(m)
	}
	wmtest.Do(func() {
		conn.OnClose = nil
		conn.Destroy()
	})
}

// TestAsyncUdp covers AsyncUdpConnection with a protocol and with raw
// datagrams.
func TestAsyncUdp(t *testing.T) {
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.Transport = "udp"
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send("udp:" + data.(string)) }
	addr := wmtest.Serve(t, w)
	raw := workerman.NewWorker("udp://127.0.0.1:0")
	raw.OnMessage = func(c *workerman.Connection, data any) { c.Send(bytes.ToUpper(data.([]byte))) }
	rawAddr := wmtest.Serve(t, raw)

	for _, tc := range []struct{ target, early, later, want1, want2 string }{
		{"text://" + addr, "early", "later", "udp:early", "udp:later"},
		{"udp://" + rawAddr, "early", "later", "EARLY", "LATER"},
	} {
		t.Run(tc.target[:strings.Index(tc.target, ":")], func(t *testing.T) {
			r := newAsyncResult()
			var conn *workerman.Connection
			var sendAfterClose workerman.SendResult
			wmtest.Do(func() {
				var err error
				conn, err = workerman.NewAsyncUdpConnection(tc.target, nil)
				if err != nil {
					t.Error(err)
					return
				}
				r.attach(conn)
				conn.Send(tc.early) // kept until the socket is ready
				conn.Connect()
			})
			if tr := recv(t, r.connected, "OnConnect"); tr != "udp" {
				t.Errorf("Transport %q", tr)
			}
			if m := recv(t, r.messages, "first reply"); m != tc.want1 {
				t.Fatalf("got %q want %q", m, tc.want1)
			}
			wmtest.Do(func() { conn.Send(tc.later) })
			if m := recv(t, r.messages, "second reply"); m != tc.want2 {
				t.Fatalf("got %q want %q", m, tc.want2)
			}
			wmtest.Do(func() {
				conn.Close()
				sendAfterClose = conn.Send("x")
			})
			recv(t, r.closed, "OnClose")
			if sendAfterClose != workerman.SendFailed {
				t.Errorf("Send after Close = %v", sendAfterClose)
			}
			select {
			case <-r.closed:
				t.Fatal("OnClose twice")
			case <-time.After(50 * time.Millisecond):
			}
		})
	}

	if _, err := workerman.NewAsyncUdpConnection("tcp://127.0.0.1:1", nil); err == nil {
		t.Error("NewAsyncUdpConnection accepted tcp://")
	}
	if _, err := workerman.NewAsyncTcpConnection("udp://127.0.0.1:1", nil); err == nil {
		t.Error("NewAsyncTcpConnection accepted udp://")
	}
	if _, err := workerman.NewAsyncTcpConnection("nosuch://127.0.0.1:1", nil); err == nil || !strings.Contains(err.Error(), "unknown protocol") {
		t.Errorf("unknown scheme: %v", err)
	}
	if _, err := workerman.NewAsyncTcpConnection("tcp://127.0.0.1:1", &workerman.DialOptions{Transport: "quic"}); err == nil {
		t.Error("unknown transport accepted")
	}
}

// TestAsyncSSLScheme uses "ssl://host:port", raw bytes over TLS, as in the
// manual's address list.
func TestAsyncSSLScheme(t *testing.T) {
	e := newTLSEnv(t)
	_, addr := serveTLS(t, e, "tcp://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnMessage = func(c *workerman.Connection, data any) { c.Send(bytes.ToUpper(data.([]byte))) }
	})
	cfg, _ := workerman.SSLOptions{CAFile: e.ca.File}.ClientConfig()
	r := newAsyncResult()
	wmtest.Do(func() {
		c, err := workerman.NewAsyncTcpConnection("ssl://"+addr, &workerman.DialOptions{TLSConfig: cfg})
		if err != nil {
			t.Error(err)
			return
		}
		r.attach(c)
		c.OnConnect = func(c *workerman.Connection) {
			r.connected <- c.Transport()
			c.Send("secret")
		}
		c.Connect()
	})
	if tr := recv(t, r.connected, "OnConnect"); tr != "ssl" {
		t.Fatalf("Transport %q", tr)
	}
	if m := recv(t, r.messages, "reply"); m != "SECRET" {
		t.Fatalf("got %q", m)
	}
}

// An AsyncUdpConnection to a UDP text worker: Connect runs OnConnect at
// once, each Send is a datagram, each reply arrives in OnMessage.
func ExampleNewAsyncUdpConnection() {
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.Transport = "udp"
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send("pong " + data.(string)) }
	var addr string
	var err error
	wmtest.Do(func() {
		if err = w.Listen(); err == nil {
			addr = w.Addr().String()
		}
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wmtest.Do(w.Stop)

	done := make(chan struct{})
	wmtest.Do(func() {
		conn, err := workerman.NewAsyncUdpConnection("text://"+addr, nil)
		if err != nil {
			fmt.Println(err)
			close(done)
			return
		}
		conn.OnConnect = func(c *workerman.Connection) { c.Send("ping") }
		conn.OnMessage = func(c *workerman.Connection, data any) {
			fmt.Println(data)
			c.Close()
		}
		conn.OnClose = func(*workerman.Connection) { close(done) }
		conn.Connect()
	})
	<-done
	// Output: pong ping
}
