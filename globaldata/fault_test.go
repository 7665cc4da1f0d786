package globaldata_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/workerman-go/workerman/globaldata"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// connect makes a client on the loop without waiting for its servers.
func connect(t *testing.T, addrs []string, opts *globaldata.Options) *globaldata.Client {
	t.Helper()
	var g *globaldata.Client
	var err error
	wmtest.Do(func() { g, err = globaldata.Connect(addrs, opts) })
	noErr(t, err)
	t.Cleanup(g.Close)
	return g
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wantErr(t *testing.T, what string, err error, targets ...error) {
	t.Helper()
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Fatalf("%s: %v; want an error matching %v", what, err, target)
		}
	}
	t.Logf("%s: %v", what, err)
}

// TestTimedOutRequestsNeverTakeEffect makes requests while the server is
// not there yet: those whose time runs out fail with ErrNotSent and are
// not applied when the server appears; those with time left are.
func TestTimedOutRequestsNeverTakeEffect(t *testing.T) {
	sock := "unix://" + filepath.Join(t.TempDir(), "gd.sock")
	short := connect(t, []string{sock}, &globaldata.Options{Timeout: 300 * time.Millisecond})
	patient := connect(t, []string{sock}, &globaldata.Options{Timeout: 30 * time.Second})

	queued := make(chan error, 1)
	patient.Set("queued", "made while the server was away", func(err error) { queued <- err })

	err := short.SetContext(context.Background(), "k1", 1)
	wantErr(t, "set past the client's timeout", err, globaldata.ErrNotSent, context.DeadlineExceeded)
	c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, _, err = short.IncrementContext(c, "k2", 1)
	cancel()
	wantErr(t, "increment past its context", err, globaldata.ErrNotSent, context.DeadlineExceeded)
	c, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err = short.AddContext(c, "k3", 1)
	wantErr(t, "add whose context is cancelled", err, globaldata.ErrNotSent, context.Canceled)
	done := make(chan error, 1)
	short.Cas("k4", nil, 1, func(_ bool, err error) { done <- err })
	wantErr(t, "cas callback past the timeout", <-done, globaldata.ErrNotSent, context.DeadlineExceeded)
	if s := short.Stats(); s.NotSent != 4 || s.Unknown != 0 {
		t.Fatalf("stats %+v", s)
	}

	// The server appears; the clients connect by themselves.
	wmtest.Serve(t, globaldata.NewServer(sock).Worker)
	select {
	case err := <-queued:
		noErr(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the queued set did not complete")
	}
	waitFor(t, "reconnection", short.Connected)
	x := ctx(t)
	for _, k := range []string{"k1", "k2", "k3", "k4"} {
		set, err := short.IssetContext(x, k)
		noErr(t, err)
		if set {
			t.Errorf("%s was applied after its request failed", k)
		}
	}
	v, err := short.GetContext(x, "queued")
	noErr(t, err)
	check(t, "queued", v, `"made while the server was away"`)
}

// fakeServer listens on loopback and runs handle for each connection.
func fakeServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	noErr(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); handle(c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// readFrame reads one frame's payload.
func readFrame(r io.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if n < 4 || n > 1<<20 {
		return nil, errors.New("bad frame length")
	}
	p := make([]byte, n-4)
	_, err := io.ReadFull(r, p)
	return p, err
}

// TestLostConnection: a request the server received but did not answer
// before the connection dropped fails with ErrOutcomeUnknown.
func TestLostConnection(t *testing.T) {
	got := make(chan byte, 10)
	addr := fakeServer(t, func(c net.Conn) {
		defer c.Close()
		p, err := readFrame(c)
		if err == nil && len(p) > 0 {
			got <- p[0]
		}
	})
	g := dial(t, []string{addr}, nil)
	err := g.SetContext(ctx(t), "k", 1)
	wantErr(t, "set on a connection that drops", err, globaldata.ErrOutcomeUnknown)
	if !strings.Contains(err.Error(), "lost") {
		t.Fatalf("the error does not say the connection was lost: %v", err)
	}
	check(t, "operation the server read", string(<-got), "S")
	waitFor(t, "the lost connection counted", func() bool { return g.Stats().Disconnects >= 1 })
	if s := g.Stats(); s.Unknown != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestNoReply: a server that reads and never answers; the request fails
// after the timeout with ErrOutcomeUnknown, and its late reply is ignored.
func TestNoReply(t *testing.T) {
	release := make(chan struct{})
	addr := fakeServer(t, func(c net.Conn) {
		p, err := readFrame(c)
		if err != nil {
			return
		}
		<-release
		// Answer the first request, long after it failed.
		id, _ := binary.Uvarint(p[1:])
		reply := binary.AppendUvarint([]byte{0, 0, 0, 0, 'R'}, id)
		reply = append(reply, 1)
		binary.BigEndian.PutUint32(reply, uint32(len(reply)))
		c.Write(reply)
		io.Copy(io.Discard, c)
	})
	g := dial(t, []string{addr}, &globaldata.Options{Timeout: 300 * time.Millisecond})
	err := g.SetContext(context.Background(), "k", 1)
	wantErr(t, "set without an answer", err, globaldata.ErrOutcomeUnknown, context.DeadlineExceeded)
	close(release)
	time.Sleep(100 * time.Millisecond)
	if s := g.Stats(); s.Unknown != 1 || s.Replies != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestQueueFull: requests beyond MaxPending fail at once with
// ErrQueueFull; Close fails the waiting ones with ErrNotSent.
func TestQueueFull(t *testing.T) {
	sock := "unix://" + filepath.Join(t.TempDir(), "nobody.sock")
	g := connect(t, []string{sock}, &globaldata.Options{MaxPending: 1000})
	results := make(chan error, 100)
	for range 100 {
		// Frames of 100 bytes: header 4, op 1, id 1, key 1+3, value 1+89.
		g.Set("key", strings.Repeat("v", 87), func(err error) { results <- err })
	}
	// The refused ones report at once; the others wait for the server.
	refused := 0
	for refused < 90 {
		select {
		case err := <-results:
			if !errors.Is(err, globaldata.ErrQueueFull) {
				t.Fatalf("set beyond MaxPending: %v", err)
			}
			refused++
		case <-time.After(10 * time.Second):
			t.Fatalf("%d refusals, want 90", refused)
		}
	}
	if s := g.Stats(); s.Refused != 90 || s.Requests != 10 {
		t.Fatalf("stats %+v", s)
	}
	g.Close()
	for i := range 10 {
		if err := <-results; !errors.Is(err, globaldata.ErrNotSent) || !errors.Is(err, globaldata.ErrClosed) {
			t.Fatalf("set ended by Close: %v", err)
		} else if i == 0 {
			t.Log(err)
		}
	}
	wantErr(t, "set after Close", g.SetContext(ctx(t), "k", 1), globaldata.ErrClosed)
}

// TestContextMethodOnTheLoop: a blocking call made on the loop by mistake
// gives up with an error instead of hanging the process.
func TestContextMethodOnTheLoop(t *testing.T) {
	g := dial(t, []string{serve(t)}, &globaldata.Options{Timeout: 200 * time.Millisecond})
	var err error
	wmtest.Do(func() { _, err = g.GetContext(context.Background(), "k") })
	wantErr(t, "GetContext on the loop", err, globaldata.ErrOutcomeUnknown, context.DeadlineExceeded)
	if !strings.Contains(err.Error(), "event loop") {
		t.Fatalf("the error does not name the mistake: %v", err)
	}
}

// TestBadClients: clients that break the protocol are disconnected; a
// well-behaved client of the same server keeps working.
func TestBadClients(t *testing.T) {
	s := globaldata.NewServer("127.0.0.1:0")
	s.MaxPackageSize = 4096
	addr := wmtest.Serve(t, s.Worker)
	good := dial(t, []string{addr}, nil)
	x := ctx(t)
	frame := func(payload string) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(4+len(payload)))
		return append(b, payload...)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"unknown operation", frame("Z\x01\x01k")},
		{"empty frame", frame("")},
		{"frame shorter than its header", []byte{0, 0, 0, 2}},
		{"truncated key", frame("G\x01\x09k")},
		{"trailing bytes", frame("G\x01\x01kextra")},
		{"value not JSON", frame("S\x01\x01k\x03{{{")},
		{"oversized frame", binary.BigEndian.AppendUint32(nil, 1<<20)},
		{"oversized frame sent whole", frame("S\x01\x01k" + strings.Repeat("1", 5000))},
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
	} {
		c, err := net.Dial("tcp", addr)
		noErr(t, err)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(tc.data); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n, err := io.Copy(io.Discard, c); err != nil || n != 0 {
			t.Errorf("%s: read %d bytes, %v; want the server to close at once", tc.name, n, err)
		}
		c.Close()
		noErr(t, good.SetContext(x, "still", tc.name))
		v, err := good.GetContext(x, "still")
		noErr(t, err)
		var got string
		noErr(t, v.Decode(&got))
		check(t, "after "+tc.name, got, tc.name)
	}
	// A frame as large as the limit allows is served.
	noErr(t, good.SetContext(x, "k", strings.Repeat("x", 4000)))
}
