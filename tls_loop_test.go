//go:build linux

package workerman_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// relay forwards connections from a listener of its own to target. The
// client's bytes pass through split, which writes them on in pieces of its
// choosing; the server's bytes pass unchanged.
func relay(t *testing.T, target string, split func(dst net.Conn, p []byte) error) string {
	return relayWith(t, target, func(c, s net.Conn) {
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 && split(s, buf[:n]) != nil {
				return
			}
			if err != nil {
				return
			}
		}
	})
}

// relayWith forwards connections from a listener of its own to target:
// the server's bytes pass unchanged, the client's c go to s through pump,
// and s is closed when pump returns.
func relayWith(t *testing.T, target string, pump func(c, s net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				return
			}
			go func() { io.Copy(c, s); c.Close() }()
			go func() {
				defer s.Close()
				pump(c, s)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestTLSRecordsSplitAndJoined checks the loop's TLS input whatever the
// pieces the records arrive in: split a few bytes at a time (record
// headers across reads, the handshake too), and many records in one read.
func TestTLSRecordsSplitAndJoined(t *testing.T) {
	e := newTLSEnv(t)
	_, addr := serveTLS(t, e, "text://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnMessage = func(c *workerman.Connection, data any) { c.Send("echo:" + data.(string)) }
	})
	dribble := func(dst net.Conn, p []byte) error {
		for i := 0; len(p) > 0; i++ {
			n := 1 + i%7
			if i%4 == 3 {
				n = 1 + i%2000
			}
			n = min(len(p), n)
			if _, err := dst.Write(p[:n]); err != nil {
				return err
			}
			p = p[n:]
			if i%4 == 0 {
				time.Sleep(50 * time.Microsecond)
			}
		}
		return nil
	}
	whole := func(dst net.Conn, p []byte) error { _, err := dst.Write(p); return err }
	for _, tc := range []struct {
		name  string
		split func(net.Conn, []byte) error
		msgs  []string
	}{
		{"split", dribble, []string{"a", strings.Repeat("b", 300), strings.Repeat("c", 40000)}},
		{"joined", whole, func() []string {
			var m []string
			for i := 0; i < 300; i++ {
				m = append(m, fmt.Sprintf("line %d %s", i, strings.Repeat("x", i*13)))
			}
			return m
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tlsDial(t, relay(t, addr, tc.split), e.clientConfig())
			// One record per message, all written before any is read.
			go func() {
				for _, m := range tc.msgs {
					if _, err := io.WriteString(c, m+"\n"); err != nil {
						return
					}
				}
			}()
			r := bufio.NewReader(c)
			for i, m := range tc.msgs {
				line, err := r.ReadString('\n')
				if err != nil || line != "echo:"+m+"\n" {
					t.Fatalf("message %d: got %.40q (%d bytes) %v", i, line, len(line), err)
				}
			}
		})
	}
}

// TestTLSPausedWithRecordsBuffered pauses a connection while whole records
// it has read wait undecrypted, and checks they are delivered on resume
// without new input from the peer.
func TestTLSPausedWithRecordsBuffered(t *testing.T) {
	e := newTLSEnv(t)
	got := make(chan string, 64)
	_, addr := serveTLS(t, e, "text://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnMessage = func(c *workerman.Connection, data any) {
			got <- data.(string)
			c.PauseRecv()
			workerman.Timer.Once(20*time.Millisecond, c.ResumeRecv)
		}
	})
	c := tlsDial(t, addr, e.clientConfig())
	// Ten records written at once: the server reads several of them in
	// one read, and decrypts one message before each pause.
	for i := 0; i < 10; i++ {
		io.WriteString(c, fmt.Sprintf("m%d\n", i))
	}
	for i := 0; i < 10; i++ {
		if m := recv(t, got, "message"); m != fmt.Sprintf("m%d", i) {
			t.Fatalf("message %d: %q", i, m)
		}
	}
}

// TestTLSBridgedPath serves TLS through the goroutine bridge, the path of
// systems without the native poller, and checks it still echoes, closes
// with a flush and holds its reader goroutine while idle.
func TestTLSBridgedPath(t *testing.T) {
	restore := workerman.SetTLSBridged(true)
	defer restore()
	e := newTLSEnv(t)
	_, addr := serveTLS(t, e, "text://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnMessage = func(c *workerman.Connection, data any) {
			if data.(string) == "bye" {
				c.Close(strings.Repeat("z", 1<<20))
				return
			}
			c.Send("echo:" + data.(string))
		}
	})
	runtime.GC()
	base := runtime.NumGoroutine()
	c := tlsDial(t, addr, e.clientConfig())
	r := bufio.NewReader(c)
	io.WriteString(c, "hi\n")
	if line, err := r.ReadString('\n'); err != nil || line != "echo:hi\n" {
		t.Fatalf("echo %q %v", line, err)
	}
	// The server's reader goroutine (the client's own reader is not
	// running: it reads on this goroutine).
	if n := runtime.NumGoroutine(); n <= base {
		t.Errorf("%d goroutines with a bridged connection open, %d before: no reader", n, base)
	}
	io.WriteString(c, "bye\n")
	rest, err := io.ReadAll(r)
	if err != nil || len(rest) != 1<<20+1 {
		t.Fatalf("read %d bytes after Close: %v", len(rest), err)
	}
}

// coalescingRelay forwards connections to target like relay, but gathers
// the client's bytes that arrive within a few milliseconds of each other
// and writes them on at once: the client's last handshake flight and the
// data it writes right after reach the server in one piece.
func coalescingRelay(t *testing.T, target string) string {
	return relayWith(t, target, func(c, s net.Conn) {
		buf := make([]byte, 64<<10)
		for {
			c.SetReadDeadline(time.Time{})
			n, err := c.Read(buf)
			for err == nil && n < len(buf) {
				c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
				var k int
				k, err = c.Read(buf[n:])
				n += k
			}
			if n > 0 {
				if _, werr := s.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
		}
	})
}

// TestTLSDataWithLastHandshakeFlight checks input that arrives in the same
// read as the end of the handshake (the client's Finished) is delivered
// without further input from the client, in TLS 1.3 and 1.2, first
// connections and resumed ones.
func TestTLSDataWithLastHandshakeFlight(t *testing.T) {
	e := newTLSEnv(t)
	_, addr := serveTLS(t, e, "text://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnMessage = func(c *workerman.Connection, data any) { c.Send("echo:" + data.(string)) }
	})
	via := coalescingRelay(t, addr)
	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		cfg := e.clientConfig()
		cfg.MaxVersion = version
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		for _, round := range []string{"full", "resumed"} {
			t.Run(fmt.Sprintf("%s/%s", tls.VersionName(version), round), func(t *testing.T) {
				c := tlsDial(t, via, cfg)
				if err := c.Handshake(); err != nil {
					t.Fatal(err)
				}
				// Written at once after the client's Finished: the relay
				// hands both to the server together.
				if _, err := io.WriteString(c, "hello\n"); err != nil {
					t.Fatal(err)
				}
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil || line != "echo:hello\n" {
					t.Fatalf("got %q %v, want the echo", line, err)
				}
			})
		}
	}
}

// TestTLSHandshakeTimeoutShortened checks a handshake started after
// TLSHandshakeTimeout was shortened times out on its own deadline, not
// after the handshakes started before with a longer one; and that
// Timer.DelAll, which deletes the timer watching the handshakes in
// progress too, does not leave them without one.
func TestTLSHandshakeTimeoutShortened(t *testing.T) {
	e := newTLSEnv(t)
	_, addr := serveTLS(t, e, "tcp://127.0.0.1:0", nil)
	old := workerman.TLSHandshakeTimeout
	defer wmtest.Do(func() { workerman.TLSHandshakeTimeout = old })
	silent := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		// Let the server accept it before going on.
		time.Sleep(100 * time.Millisecond)
		return c
	}
	wmtest.Do(func() { workerman.TLSHandshakeTimeout = 20 * time.Second })
	long := silent()
	wmtest.Do(func() { workerman.TLSHandshakeTimeout = 400 * time.Millisecond })
	short1 := silent()
	wmtest.Do(func() { workerman.Timer.DelAll() })
	short2 := silent()
	for i, c := range []net.Conn{short1, short2} {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("short timeout %d: read %v, want EOF within 5s", i+1, err)
		}
	}
	long.SetDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := long.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("long timeout: read %v, want the connection still open", err)
	}
}

// TestTLSStreamSharesTheLoop streams into one TLS connection faster than
// the loop handles it, so that its socket always has more to read, and
// checks that a message on another connection is still answered at once:
// a readiness event reads a bounded amount, and the rest waits for the
// connection's next turn.
func TestTLSStreamSharesTheLoop(t *testing.T) {
	e := newTLSEnv(t)
	var streamed, atPing atomic.Int64
	_, addr := serveTLS(t, e, "tcp://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnMessage = func(c *workerman.Connection, data any) {
			s := data.([]byte)
			if string(s) == "ping" {
				atPing.Store(streamed.Load())
				c.Send("pong")
				return
			}
			streamed.Add(int64(len(s)))
			time.Sleep(500 * time.Microsecond) // slower than the peer writes
		}
	})
	pinger := tlsDial(t, addr, e.clientConfig())
	streamer := tlsDial(t, addr, e.clientConfig())
	go func() {
		chunk := []byte(strings.Repeat("a", 32<<10))
		for i := 0; i < 2048; i++ { // 64 MiB at most
			if _, err := streamer.Write(chunk); err != nil {
				return
			}
		}
	}()
	// Polled here, not on the loop: a loop held by the stream would
	// answer only once the stream ended.
	for deadline := time.Now().Add(15 * time.Second); streamed.Load() < 1<<20; {
		if time.Now().After(deadline) {
			t.Fatal("the stream does not flow")
		}
		time.Sleep(time.Millisecond)
	}
	before := streamed.Load()
	if _, err := io.WriteString(pinger, "ping"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(pinger, buf); err != nil || string(buf) != "pong" {
		t.Fatalf("pong: %q, %v", buf, err)
	}
	// One event reads at most two 256 KiB buffers and a last read; the
	// stream may have had a turn before the ping arrived and one after.
	if d := atPing.Load() - before; d > 4<<20 {
		t.Fatalf("the stream delivered %d KiB before the ping was answered", d>>10)
	}
	streamer.Close()
}
