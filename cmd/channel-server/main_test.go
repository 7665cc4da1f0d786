package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/channel"
)

// TestServer builds the program and runs it twice, as a daemon on TCP and
// in the foreground on a Unix socket: two clients talk through it, status
// and connections show the server and its clients, a frame over
// -max-package-size is refused, and stop stops it.
func TestServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the program")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "channel-server")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("TCPDaemon", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		p := &program{t: t, bin: bin, flags: []string{"-listen", addr, "-pidfile", filepath.Join(t.TempDir(), "ch.pid"), "-max-package-size", "65536"}}
		out, err := p.run("start", "-d")
		if err != nil || !strings.Contains(out, "Start success.") {
			t.Fatalf("start -d: %v\n%s", err, out)
		}
		t.Cleanup(func() { p.run("stop") })
		if !strings.Contains(out, "ChannelServer") || !strings.Contains(out, "frame://"+addr) {
			t.Errorf("the start table does not show the server:\n%s", out)
		}
		p.exercise("tcp", addr, addr)
		p.stop()
	})
	t.Run("UnixForeground", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "ch.sock")
		p := &program{t: t, bin: bin, flags: []string{"-listen", "unix://" + sock, "-pidfile", filepath.Join(t.TempDir(), "ch.pid"), "-max-package-size", "65536"}}
		fg := exec.Command(bin, append(append([]string(nil), p.flags...), "start")...)
		var out syncBuffer
		fg.Stdout, fg.Stderr = &out, &out
		if err := fg.Start(); err != nil {
			t.Fatal(err)
		}
		var waitErr error
		exited := make(chan struct{})
		go func() { waitErr = fg.Wait(); close(exited) }()
		t.Cleanup(func() {
			select {
			case <-exited:
			default:
				fg.Process.Kill()
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
					t.Errorf("the killed master's output stayed open")
				}
			}
		})
		deadline := time.After(60 * time.Second)
		for !strings.Contains(out.String(), "Start success.") {
			select {
			case <-exited:
				t.Fatalf("start exited: %v\n%s", waitErr, out.String())
			case <-deadline:
				t.Fatalf("start did not succeed:\n%s", out.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
		if !strings.Contains(out.String(), "unix://"+sock) {
			t.Errorf("the start table does not show the socket:\n%s", out.String())
		}
		p.exercise("unix", "unix://"+sock, sock)
		p.stop()
		select {
		case <-exited:
			if waitErr != nil {
				t.Errorf("start exited with %v\n%s", waitErr, out.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatal("start did not exit after stop")
		}
	})
}

type program struct {
	t     *testing.T
	bin   string
	flags []string
}

// run runs a command of the program to completion.
func (p *program) run(args ...string) (string, error) {
	cmd := exec.Command(p.bin, append(append([]string(nil), p.flags...), args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		return out.String(), context.DeadlineExceeded
	}
}

func (p *program) stop() {
	p.t.Helper()
	if out, err := p.run("stop"); err != nil || !strings.Contains(out, "stop success") {
		p.t.Fatalf("stop: %v\n%s", err, out)
	}
	if out, _ := p.run("status"); !strings.Contains(out, "not run") {
		p.t.Errorf("status after stop:\n%s", out)
	}
}

// exercise has two clients talk through the server at addr (dialled as
// network/raw by a misbehaving client) and checks status and connections.
func (p *program) exercise(network, addr, raw string) {
	t := p.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := channel.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := channel.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got := make(chan string, 10)
	if err := a.On("greeting", func(d channel.Data) { got <- d.String() }); err != nil {
		t.Fatal(err)
	}
	jobs := make(chan string, 10)
	if err := b.Watch("jobs", func(d channel.Data) { jobs <- d.String() }); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := b.CountContext(ctx, "greeting")
		if err != nil {
			t.Fatal(err)
		}
		if n.Subscribers == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := b.Publish("greeting", "hello over "+network); err != nil {
		t.Fatal(err)
	}
	if err := a.Enqueue("jobs", "job over "+network); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan string{got, jobs} {
		select {
		case s := <-ch:
			if !strings.HasSuffix(s, " over "+network) {
				t.Errorf("received %q", s)
			}
		case <-ctx.Done():
			t.Fatal("nothing arrived through the server")
		}
	}

	// A frame over -max-package-size: that client is disconnected.
	c, err := net.Dial(network, raw)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(binary.BigEndian.AppendUint32(nil, 65537))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Error("an oversized frame did not disconnect its client")
		}
	}

	out, err := p.run("status", "--json")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	var r workerman.StatusReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if len(r.Processes) != 1 || r.Processes[0].Worker != "ChannelServer" || r.Processes[0].Connections != 2 {
		t.Errorf("status: %+v", r.Processes)
	}
	out, err = p.run("connections", "--json")
	if err != nil {
		t.Fatalf("connections: %v\n%s", err, out)
	}
	var list []workerman.ConnectionInfo
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("connections --json: %v\n%s", err, out)
	}
	if len(list) != 2 {
		t.Fatalf("connections: %+v", list)
	}
	for _, ci := range list {
		if ci.Worker != "ChannelServer" || ci.Protocol != "frame" || ci.State != "ESTABLISHED" || ci.BytesRead == 0 || ci.BytesWritten == 0 {
			t.Errorf("connection %+v", ci)
		}
	}
	if text, _ := p.run("status"); !strings.Contains(text, "ChannelServer") {
		t.Errorf("status:\n%s", text)
	}
	if text, _ := p.run("connections"); !strings.Contains(text, "ChannelServer") {
		t.Errorf("connections:\n%s", text)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
