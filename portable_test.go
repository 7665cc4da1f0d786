//go:build workerman_portable

package workerman_test

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/eventloop"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// These tests run the portable mode (the one of Windows) on Linux: go test
// -tags workerman_portable. The loop polls no descriptors; every connection
// is served by goroutines over a net.Conn.

func TestPortableModeIsOn(t *testing.T) {
	if eventloop.PollsDescriptors {
		t.Fatal("built with workerman_portable, yet the loop polls descriptors")
	}
}

// TestPortableEchoManyClients serves concurrent clients over real sockets
// and checks each gets its own replies, in order, with the addresses the
// connection reports.
func TestPortableEchoManyClients(t *testing.T) {
	w := workerman.NewWorker("text://127.0.0.1:0")
	var mu sync.Mutex
	seen := map[string]bool{}
	w.OnConnect = func(c *workerman.Connection) {
		mu.Lock()
		seen[c.RemoteAddress()+" "+c.LocalAddress()] = true
		mu.Unlock()
	}
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(fmt.Sprintf("%d:%s", c.ID, data)) }
	addr := wmtest.Serve(t, w)
	const clients, each = 20, 50
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dial(t, "tcp", addr)
			r := bufio.NewReader(c)
			prefix := ""
			for j := 0; j < each; j++ {
				fmt.Fprintf(c, "m%d\n", j)
				line, err := r.ReadString('\n')
				if err != nil {
					errs <- err
					return
				}
				id, msg, _ := strings.Cut(strings.TrimSuffix(line, "\n"), ":")
				if prefix == "" {
					prefix = id
				}
				if id != prefix || msg != fmt.Sprintf("m%d", j) {
					errs <- fmt.Errorf("reply %q, want connection %s message m%d", line, prefix, j)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != clients {
		t.Fatalf("%d distinct address pairs, want %d", len(seen), clients)
	}
	for k := range seen {
		remote, local, _ := strings.Cut(k, " ")
		if !strings.HasPrefix(remote, "127.0.0.1:") || local != addr {
			t.Fatalf("remote %q local %q, want 127.0.0.1:* and %s", remote, local, addr)
		}
	}
}

// TestPortableCloseAfterFlushAndOnClose: Close(data) sends data before the
// connection ends, and OnClose runs for connections the client ends.
func TestPortableCloseAfterFlushAndOnClose(t *testing.T) {
	w := workerman.NewWorker("text://127.0.0.1:0")
	closed := make(chan string, 2)
	big := strings.Repeat("x", 1<<20)
	w.OnMessage = func(c *workerman.Connection, data any) {
		if data == "bye" {
			c.Close(big)
		}
	}
	w.OnClose = func(c *workerman.Connection) { closed <- "closed" }
	addr := wmtest.Serve(t, w)

	c := dial(t, "tcp", addr)
	io.WriteString(c, "bye\n")
	got, err := io.ReadAll(c)
	if err != nil || string(got) != big+"\n" {
		t.Fatalf("read %d bytes (%v), want the %d-byte goodbye then EOF", len(got), err, len(big)+1)
	}
	c2 := dial(t, "tcp", addr)
	io.WriteString(c2, "hello\n")
	c2.Close()
	for i := 0; i < 2; i++ {
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatalf("OnClose ran %d times, want 2", i)
		}
	}
}

// TestPortablePauseAccept: a paused worker does not take connections; they
// are served once it resumes.
func TestPortablePauseAccept(t *testing.T) {
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(data) }
	addr := wmtest.Serve(t, w)
	wmtest.Do(w.PauseAccept)
	c := dial(t, "tcp", addr) // queued by the kernel
	io.WriteString(c, "ping\n")
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := c.Read(make([]byte, 8)); err == nil {
		t.Fatalf("a paused worker answered (%d bytes)", n)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	wmtest.Do(func() {
		if err := w.ResumeAccept(); err != nil {
			t.Error(err)
		}
	})
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "ping\n" {
		t.Fatalf("after resume: %q %v", line, err)
	}
}

func TestPortableUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	w := workerman.NewWorker("unix://" + path)
	w.Protocol = workerman.Text
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send("u:" + data.(string)) }
	wmtest.Serve(t, w)
	c := dial(t, "unix", path)
	io.WriteString(c, "a\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "u:a\n" {
		t.Fatalf("got %q %v", line, err)
	}
}

// TestPortableUDPRefused: what needs descriptors fails with a clear error.
func TestPortableUDPRefused(t *testing.T) {
	w := workerman.NewWorker("udp://127.0.0.1:0")
	var err error
	wmtest.Do(func() { err = w.Listen() })
	if err == nil || !strings.Contains(err.Error(), "UDP workers need the event loop's descriptor poller") {
		t.Fatalf("Listen = %v, want the UDP refusal", err)
	}
}

// TestPortableAsyncConnectFails: an outbound connection reports ConnectFail
// with the reason instead of hanging.
func TestPortableAsyncConnectFails(t *testing.T) {
	w := workerman.NewWorker("text://127.0.0.1:0")
	addr := wmtest.Serve(t, w)
	got := make(chan string, 1)
	wmtest.Do(func() {
		c, err := workerman.NewAsyncTcpConnection("text://"+addr, nil)
		if err != nil {
			got <- "new: " + err.Error()
			return
		}
		c.OnError = func(c *workerman.Connection, code int, msg string) {
			if code == workerman.ConnectFail {
				got <- msg
			}
		}
		if err := c.Connect(); err != nil {
			got <- "connect: " + err.Error()
		}
	})
	select {
	case msg := <-got:
		if !strings.Contains(msg, eventloop.ErrNoPoller.Error()) {
			t.Fatalf("ConnectFail with %q, want the missing poller named", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no ConnectFail")
	}
}
