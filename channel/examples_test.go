package channel_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/channel"
)

// The tests in this file build the manual's Channel examples
// (examples/channel-*) and run them under the master, as the manual does:
// start -d, WebSocket clients, the HTTP API, status, connections, a killed
// Channel server, stop. Each program runs from a directory of its own, so
// its default pid file is its own.

// app is one running example program.
type app struct {
	t      *testing.T
	name   string
	bin    string
	flags  []string
	master int
}

// startApp builds examples/<name> and starts it as a daemon with flags.
func startApp(t *testing.T, name string, flags ...string) *app {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs programs")
	}
	dir := t.TempDir()
	a := &app{t: t, name: name, bin: filepath.Join(dir, name), flags: flags}
	if out, err := exec.Command("go", "build", "-o", a.bin, "github.com/workerman-go/workerman/examples/"+name).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	out, err := a.run("start", "-d")
	if err != nil || !strings.Contains(out, "Start success.") {
		t.Fatalf("start -d: %v\n%s", err, out)
	}
	t.Cleanup(a.cleanup)
	a.master = a.status().MasterPid
	return a
}

// run runs a command of the program to completion.
func (a *app) run(args ...string) (string, error) {
	cmd := exec.Command(a.bin, append(append([]string(nil), a.flags...), args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		a.t.Fatal(err)
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

func (a *app) must(args ...string) string {
	a.t.Helper()
	out, err := a.run(args...)
	if err != nil {
		a.t.Fatalf("%s %v: %v\n%s", a.name, args, err, out)
	}
	return out
}

func (a *app) status() workerman.StatusReport {
	a.t.Helper()
	out := a.must("status", "--json")
	var r workerman.StatusReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		a.t.Fatalf("status --json: %v\n%s", err, out)
	}
	return r
}

func (a *app) connections() []workerman.ConnectionInfo {
	a.t.Helper()
	out := a.must("connections", "--json")
	var list []workerman.ConnectionInfo
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		a.t.Fatalf("connections --json: %v\n%s", err, out)
	}
	return list
}

// pids returns the live processes of a worker by Worker.ID.
func (a *app) pids(worker string) map[int]int {
	m := map[int]int{}
	for _, p := range a.status().Processes {
		if p.Worker == worker && !p.Retiring {
			m[p.ID] = p.Pid
		}
	}
	return m
}

func (a *app) cleanup() {
	out, err := a.run("stop")
	if err != nil {
		a.t.Errorf("stop: %v\n%s", err, out)
	}
	if a.master > 0 && syscall.Kill(a.master, 0) == nil {
		// The master's children stop when it is gone.
		syscall.Kill(a.master, syscall.SIGKILL)
	}
}

// wsClient is a minimal WebSocket client: text frames, masked as a client
// must, and pings answered.
type wsClient struct {
	t     *testing.T
	c     net.Conn
	r     *bufio.Reader
	local string
}

func wsDial(t *testing.T, addr string) *wsClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var key [16]byte
	rand.Read(key[:])
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
		addr, base64.StdEncoding.EncodeToString(key[:]))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake answered %s", resp.Status)
	}
	c.SetReadDeadline(time.Time{})
	return &wsClient{t: t, c: c, r: r, local: c.LocalAddr().String()}
}

func (w *wsClient) send(text string) {
	w.t.Helper()
	b := []byte{0x81}
	switch n := len(text); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:])
	b = append(b, mask[:]...)
	for i := 0; i < len(text); i++ {
		b = append(b, text[i]^mask[i%4])
	}
	if _, err := w.c.Write(b); err != nil {
		w.t.Fatal(err)
	}
}

// read returns the next text message.
func (w *wsClient) read(timeout time.Duration) (string, error) {
	w.c.SetReadDeadline(time.Now().Add(timeout))
	defer w.c.SetReadDeadline(time.Time{})
	for {
		var h [2]byte
		if _, err := io.ReadFull(w.r, h[:]); err != nil {
			return "", err
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			if _, err := io.ReadFull(w.r, l[:]); err != nil {
				return "", err
			}
			n = uint64(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			if _, err := io.ReadFull(w.r, l[:]); err != nil {
				return "", err
			}
			n = binary.BigEndian.Uint64(l[:])
		}
		if h[1]&0x80 != 0 || n > 1<<20 {
			return "", fmt.Errorf("bad frame header %x", h)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(w.r, p); err != nil {
			return "", err
		}
		switch h[0] & 0x0f {
		case 1, 2:
			if h[0]&0x80 == 0 {
				return "", errors.New("fragmented message")
			}
			return string(p), nil
		case 8:
			return "", io.EOF
		case 9: // ping: answer with a pong carrying the payload
			b := []byte{0x8a, 0x80 | byte(len(p)), 0, 0, 0, 0}
			w.c.Write(append(b, p...))
		}
	}
}

func (w *wsClient) expect(want string) {
	w.t.Helper()
	got, err := w.read(15 * time.Second)
	if err != nil {
		w.t.Fatalf("client %s waiting for %q: %v", w.local, want, err)
	}
	if got != want {
		w.t.Fatalf("client %s got %q, want %q", w.local, got, want)
	}
}

// channelClient dials the program's Channel server from the test.
func channelClient(t *testing.T, addr string) *channel.Client {
	return dial(t, addr, nil)
}

// spread connects perProcess WebSocket clients to each process of worker
// and returns them with the pid of the process holding each. The
// processes share one listening socket, and one of them may take every
// connection: to place clients, the test stops the other processes
// (SIGSTOP) while it connects them, then lets them go on (SIGCONT). The
// placement is checked with connections.
func spread(t *testing.T, a *app, worker, addr string, perProcess int) ([]*wsClient, map[*wsClient]int) {
	t.Helper()
	return spreadWith(t, a, worker, perProcess, func() *wsClient { return wsDial(t, addr) })
}

func spreadWith(t *testing.T, a *app, worker string, perProcess int, connect func() *wsClient) ([]*wsClient, map[*wsClient]int) {
	t.Helper()
	pids := a.pids(worker)
	var clients []*wsClient
	want := map[*wsClient]int{}
	for _, pid := range pids {
		var others []int
		for _, o := range pids {
			if o != pid {
				others = append(others, o)
			}
		}
		func() {
			for _, o := range others {
				syscall.Kill(o, syscall.SIGSTOP)
			}
			for _, o := range others {
				waitStopped(t, o)
			}
			defer func() {
				for _, o := range others {
					syscall.Kill(o, syscall.SIGCONT)
				}
			}()
			for i := 0; i < perProcess; i++ {
				w := connect()
				clients = append(clients, w)
				want[w] = pid
			}
		}()
	}
	list := a.connections()
	for _, w := range clients {
		got := 0
		for _, ci := range list {
			if ci.Worker == worker && ci.Remote == w.local {
				got = ci.Pid
			}
		}
		if got != want[w] {
			t.Fatalf("client %s is in process %d, want %d", w.local, got, want[w])
		}
	}
	return clients, want
}

// waitStopped waits until every thread of a process has stopped: a thread
// still on its way to stopping may yet take a connection it cannot serve.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("process %d to stop", pid), func() bool {
		stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
		if len(stats) == 0 {
			return false
		}
		for _, f := range stats {
			b, err := os.ReadFile(f)
			if err != nil {
				return false
			}
			i := bytes.LastIndexByte(b, ')')
			if i < 0 || i+2 >= len(b) || (b[i+2] != 'T' && b[i+2] != 't') {
				return false
			}
		}
		return true
	})
}

// TestExampleBroadcast runs the manual's multi-process broadcast: a channel
// server worker and a WebSocket worker of two processes. A message from
// any client reaches every client in both processes, all in the same
// order; status and connections show the Channel server and its clients.
func TestExampleBroadcast(t *testing.T) {
	chAddr, wsAddr := freeAddr(t), freeAddr(t)
	a := startApp(t, "channel-broadcast", "-channel", chAddr, "-listen", wsAddr, "-count", "2")
	check := channelClient(t, chAddr)
	waitCount(t, check, "broadcast", 2)
	clients, where := spread(t, a, "websocket", wsAddr, 2)

	// Two senders, one in each process, each send three messages.
	var senders []*wsClient
	seen := map[int]bool{}
	for _, w := range clients {
		if !seen[where[w]] {
			seen[where[w]] = true
			senders = append(senders, w)
		}
	}
	for i := 0; i < 3; i++ {
		for j, s := range senders {
			s.send(fmt.Sprintf("hello %d from sender %d", i, j))
		}
	}
	var first []string
	for k, w := range clients {
		var got []string
		for len(got) < 3*len(senders) {
			m, err := w.read(15 * time.Second)
			if err != nil {
				t.Fatalf("client %d (pid %d) after %q: %v", k, where[w], got, err)
			}
			got = append(got, m)
		}
		if k == 0 {
			first = got
			for j := range senders {
				var mine []string
				for _, m := range got {
					if strings.HasSuffix(m, fmt.Sprintf(" from sender %d", j)) {
						mine = append(mine, m)
					}
				}
				want := []string{fmt.Sprintf("hello 0 from sender %d", j), fmt.Sprintf("hello 1 from sender %d", j), fmt.Sprintf("hello 2 from sender %d", j)}
				if !slices.Equal(mine, want) {
					t.Errorf("sender %d's messages arrived as %q", j, mine)
				}
			}
		} else if !slices.Equal(got, first) {
			t.Errorf("client %d (pid %d) got %q, client 0 got %q", k, where[w], got, first)
		}
	}

	checkStatus(t, a, chAddr, "websocket", len(clients), 1)
}

// checkStatus checks that status and connections show the Channel server
// worker, its one process and its clients: one outbound connection from
// each process of the worker, plus external ones from the test.
func checkStatus(t *testing.T, a *app, chAddr, worker string, clients, external int) {
	t.Helper()
	r := a.status()
	var chServer *workerman.ProcessStatus
	workerProcs := map[int]bool{}
	for i, p := range r.Processes {
		switch p.Worker {
		case "ChannelServer":
			chServer = &r.Processes[i]
		case worker:
			workerProcs[p.Pid] = true
		}
	}
	found := false
	for _, w := range r.Workers {
		if w.Name == "ChannelServer" {
			found = true
			if w.Count != 1 || w.Listen != "frame://"+chAddr {
				t.Errorf("ChannelServer worker %+v", w)
			}
		}
	}
	if !found || chServer == nil || chServer.Listen != "frame://"+chAddr {
		t.Fatalf("status does not show the Channel server: %+v", r)
	}
	// The worker processes' clients and the test's.
	if want := int64(len(workerProcs) + external); chServer.Connections != want {
		t.Errorf("the Channel server has %d connections, want %d", chServer.Connections, want)
	}
	list := a.connections()
	served, outbound, wsConns := 0, map[int]int{}, 0
	for _, ci := range list {
		switch {
		case ci.Worker == "ChannelServer":
			served++
			if ci.Protocol != "frame" || ci.Local != chAddr || ci.Pid != chServer.Pid {
				t.Errorf("Channel server connection %+v", ci)
			}
		case ci.Worker == workerman.OutboundWorkerName && ci.Remote == chAddr:
			outbound[ci.Pid]++
			if ci.State != "ESTABLISHED" || ci.Protocol != "frame" {
				t.Errorf("outbound connection %+v", ci)
			}
		case ci.Worker == worker:
			wsConns++
		}
	}
	if served != len(workerProcs)+external || wsConns != clients {
		t.Errorf("connections: %d to the Channel server, %d WebSocket clients (want %d, %d)", served, wsConns, len(workerProcs)+external, clients)
	}
	for pid := range workerProcs {
		if outbound[pid] != 1 {
			t.Errorf("process %d has %d outbound connections to the Channel server, want 1", pid, outbound[pid])
		}
	}
	text := a.must("status")
	conns := a.must("connections")
	for _, want := range []string{"ChannelServer", "frame://" + chAddr} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{"ChannelServer", workerman.OutboundWorkerName, chAddr} {
		if !strings.Contains(conns, want) {
			t.Errorf("connections lacks %q:\n%s", want, conns)
		}
	}
	if testing.Verbose() {
		t.Logf("status:\n%s\nconnections:\n%s", text, conns)
	}
}
