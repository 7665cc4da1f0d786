//go:build linux

package workerman_test

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	"github.com/workerman-go/workerman/protocols/websocket"
)

// Goodbyes: what the connections of a process that stops (stop, stop -g,
// reload, reload -g) see. WebSocket clients receive a close frame with
// status 1001 before the TCP connection closes; HTTP keep-alive clients
// have the request in flight answered, with "Connection: close".

// pmWS is a hand-written WebSocket client over a real socket.
type pmWS struct {
	conn net.Conn
	br   *bufio.Reader
}

func pmDialWS(t *testing.T, addr string) *pmWS {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	var key [16]byte
	rand.Read(key[:])
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n\r\n",
		addr, base64.StdEncoding.EncodeToString(key[:]))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return &pmWS{conn: c, br: br}
}

// write sends one masked frame.
func (w *pmWS) write(op byte, payload []byte) error {
	b := []byte{0x80 | op}
	switch {
	case len(payload) < 126:
		b = append(b, 0x80|byte(len(payload)))
	default:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(len(payload)))
	}
	var mask [4]byte
	rand.Read(mask[:])
	b = append(b, mask[:]...)
	for i, x := range payload {
		b = append(b, x^mask[i%4])
	}
	_, err := w.conn.Write(b)
	return err
}

// read reads one unmasked frame.
func (w *pmWS) read() (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(w.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var x [2]byte
		if _, err := io.ReadFull(w.br, x[:]); err != nil {
			return 0, nil, err
		}
		n = int(binary.BigEndian.Uint16(x[:]))
	case 127:
		return 0, nil, errors.New("frame too long for the test")
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(w.br, payload)
	return h[0] & 0x0f, payload, err
}

// ask sends a text message and returns the reply.
func (w *pmWS) ask(t *testing.T, msg string) string {
	t.Helper()
	if err := w.write(0x1, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	op, p, err := w.read()
	if err != nil || op != 0x1 {
		t.Fatalf("reply: op %d %q %v", op, p, err)
	}
	return string(p)
}

// goodbye waits for the server's close frame, answers it as a client does,
// and checks that the TCP connection then ends; cleanly (FIN, not reset)
// when clean is set, for a server that waits for the client's answer. It
// returns the close code and reason.
func (w *pmWS) goodbye(t *testing.T, clean bool) (int, string) {
	t.Helper()
	for {
		op, p, err := w.read()
		if err != nil {
			t.Fatalf("the connection ended without a close frame: %v", err)
		}
		if op != 0x8 {
			continue
		}
		if len(p) < 2 {
			t.Fatalf("close frame without a status: %q", p)
		}
		code := int(binary.BigEndian.Uint16(p))
		w.write(0x8, p[:2])
		if _, err := w.br.ReadByte(); err == nil || (clean && err != io.EOF) {
			t.Errorf("after the closing handshake: %v, want EOF", err)
		}
		return code, string(p[2:])
	}
}

// Every WebSocket connection of a process that stops receives a close
// frame with status 1001 before its TCP connection closes: on reload,
// reload -g, stop -g and stop.
func testWebSocketGoodbye(t *testing.T, bins pmBins) {
	for _, args := range [][]string{{"reload"}, {"reload", "-g"}, {"stop", "-g"}, {"stop"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			wsPort := pmFreePort(t)
			s := newSvc(t, bins.v1, fmt.Sprintf("SVC_WS_ADDR=127.0.0.1:%d", wsPort), "SVC_GRACE_MS=20000")
			s.startDaemon()
			addr := fmt.Sprintf("127.0.0.1:%d", wsPort)
			var clients []*pmWS
			pids := map[string]bool{}
			for i := 0; i < 6; i++ {
				c := pmDialWS(t, addr)
				pids[strings.Fields(c.ask(t, "hi"))[2]] = true
				clients = append(clients, c)
			}
			done := make(chan string, 1)
			go func() {
				out, code := s.run(args...)
				done <- fmt.Sprintf("exit %d\n%s", code, out)
			}()
			for _, c := range clients {
				// A fast stop closes right after the close frame; the others
				// wait for the client's answer.
				code, reason := c.goodbye(t, len(args) == 2 || args[0] == "reload")
				if code != websocket.CloseGoingAway || reason != websocket.GoingAwayReason {
					t.Errorf("close frame %d %q, want %d %q", code, reason, websocket.CloseGoingAway, websocket.GoingAwayReason)
				}
			}
			if out := <-done; !strings.HasPrefix(out, "exit 0") {
				t.Errorf("%v: %s", args, out)
			}
			if args[0] == "reload" {
				// The clients come back to the new processes.
				c := pmDialWS(t, addr)
				if pid := strings.Fields(c.ask(t, "hi"))[2]; pids[pid] {
					t.Errorf("served by the old process %s after %v", pid, args)
				}
			}
		})
	}
}

// A ws:// client (workerman's own) whose OnClose calls Reconnect comes back
// after the server's goodbye, to the new process.
func testWebSocketClientReconnects(t *testing.T, bins pmBins) {
	wsPort := pmFreePort(t)
	s := newSvc(t, bins.v1, fmt.Sprintf("SVC_WS_ADDR=127.0.0.1:%d", wsPort))
	s.startDaemon()
	events := make(chan string, 16)
	var con *workerman.Connection
	wmtest.Do(func() {
		var err error
		con, err = workerman.NewAsyncTcpConnection(fmt.Sprintf("ws://127.0.0.1:%d/", wsPort), nil)
		if err != nil {
			t.Error(err)
			return
		}
		con.Protocol = &websocket.Client{OnWebSocketClose: func(c *workerman.Connection, code int, reason string) {
			events <- fmt.Sprintf("close %d %s", code, reason)
		}}
		con.OnConnect = func(c *workerman.Connection) { c.Send("hi") }
		con.OnMessage = func(c *workerman.Connection, data any) { events <- data.(string) }
		con.OnClose = func(c *workerman.Connection) {
			events <- "closed"
			c.Reconnect(50 * time.Millisecond)
		}
		con.Connect()
	})
	t.Cleanup(func() {
		wmtest.Do(func() {
			con.OnClose = nil
			con.Destroy()
		})
	})
	next := func() string {
		select {
		case e := <-events:
			return e
		case <-time.After(30 * time.Second):
			t.Fatal("no event from the ws:// client within 30s")
		}
		return ""
	}
	first := strings.Fields(next())
	if len(first) != 3 || first[0] != "ws" || first[1] != "v1" {
		t.Fatalf("first reply %q", first)
	}
	s.install(bins.v2)
	s.must("reload")
	if e := next(); e != fmt.Sprintf("close %d %s", websocket.CloseGoingAway, websocket.GoingAwayReason) {
		t.Errorf("after reload the client got %q, want the close frame", e)
	}
	if e := next(); e != "closed" {
		t.Errorf("got %q, want OnClose", e)
	}
	again := strings.Fields(next())
	if len(again) != 3 || again[1] != "v2" || again[2] == first[2] {
		t.Errorf("after reconnecting: %q (before: %q)", again, first)
	}
}

// pmHTTPLoad runs keep-alive clients that send request after request on
// one connection each, and open a new connection only when the server
// closes theirs after a response that says "Connection: close". Anything
// else (a reset, a connection closed with a request unanswered, a bad
// response) is a failed request.
type pmHTTPLoad struct {
	addr       string
	stop       chan struct{}
	wg         sync.WaitGroup
	ok, fail   atomic.Int64
	closes     atomic.Int64 // responses with Connection: close
	mu         sync.Mutex
	errs       []string
	versions   map[string]int
	slowEveryN int // every n-th request asks for a delayed answer, to be in flight
}

func pmStartHTTPLoad(addr string, clients, slowEveryN int) *pmHTTPLoad {
	l := &pmHTTPLoad{addr: addr, stop: make(chan struct{}), versions: map[string]int{}, slowEveryN: slowEveryN}
	for i := 0; i < clients; i++ {
		l.wg.Add(1)
		go l.run()
	}
	return l
}

func (l *pmHTTPLoad) failed(err error) {
	l.fail.Add(1)
	l.mu.Lock()
	if len(l.errs) < 10 {
		l.errs = append(l.errs, err.Error())
	}
	l.mu.Unlock()
}

func (l *pmHTTPLoad) run() {
	defer l.wg.Done()
	deadline := time.Now().Add(120 * time.Second)
	n := 0
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", l.addr, 5*time.Second)
		if err != nil {
			l.failed(err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		br := bufio.NewReader(c)
		for {
			select {
			case <-l.stop:
				c.Close()
				return
			default:
			}
			n++
			path := "/"
			if l.slowEveryN > 0 && n%l.slowEveryN == 0 {
				path = "/?sleep=200"
			}
			c.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: svc\r\n\r\n", path); err != nil {
				l.failed(fmt.Errorf("write: %w", err))
				break
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				l.failed(fmt.Errorf("read: %w", err))
				break
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			f := strings.Fields(string(body))
			if err != nil || resp.StatusCode != 200 || len(f) != 3 || f[0] != "http" {
				l.failed(fmt.Errorf("response %d %q %v", resp.StatusCode, body, err))
				break
			}
			l.ok.Add(1)
			l.mu.Lock()
			l.versions[f[1]]++
			l.mu.Unlock()
			if resp.Close {
				l.closes.Add(1)
				// The server closes now: the next read sees EOF, not a reset.
				if _, err := br.ReadByte(); err != io.EOF {
					l.failed(fmt.Errorf("after Connection: close: %v, want EOF", err))
				}
				break
			}
		}
		c.Close()
	}
}

func (l *pmHTTPLoad) finish() {
	close(l.stop)
	l.wg.Wait()
}

// Keep-alive HTTP clients under load lose no request across 10 reloads,
// plain and graceful: each retiring process answers the requests in
// flight with "Connection: close", and the clients move to the new
// processes.
func testHTTPKeepAliveReload(t *testing.T, bins pmBins) {
	port := pmFreePort(t)
	s := newSvc(t, bins.v1, fmt.Sprintf("SVC_HTTP_ADDR=127.0.0.1:%d", port))
	s.startDaemon()
	l := pmStartHTTPLoad(fmt.Sprintf("127.0.0.1:%d", port), 4, 50)
	time.Sleep(200 * time.Millisecond)
	for i := 0; i < 10; i++ {
		if i == 5 {
			s.install(bins.v2)
		}
		args := []string{"reload"}
		if i%2 == 1 {
			args = append(args, "-g")
		}
		s.must(args...)
		time.Sleep(100 * time.Millisecond)
	}
	l.finish()
	t.Logf("%d requests ok, %d failed, %d answered with Connection: close, by version %v", l.ok.Load(), l.fail.Load(), l.closes.Load(), l.versions)
	if l.fail.Load() != 0 {
		t.Errorf("%d requests failed across the reloads: %v", l.fail.Load(), l.errs)
	}
	if l.closes.Load() == 0 {
		t.Error("no response said Connection: close")
	}
	if l.versions["v2"] == 0 {
		t.Errorf("no request reached the new build: %v", l.versions)
	}
}

// A request in flight when its process retires is answered, with
// "Connection: close"; an idle keep-alive connection is closed at once,
// long before the stop's window (20 s here) ends.
func testHTTPRetiring(t *testing.T, bins pmBins) {
	port := pmFreePort(t)
	s := newSvc(t, bins.v1, fmt.Sprintf("SVC_HTTP_ADDR=127.0.0.1:%d", port), "SVC_STOP_MS=20000")
	s.startDaemon()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	get := func(c net.Conn, br *bufio.Reader, path string) *http.Response {
		t.Helper()
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: svc\r\n\r\n", path)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp
	}
	// Idle connections: answered once, then quiet for longer than the
	// moment the server waits for a next request (a second).
	var idle []net.Conn
	for i := 0; i < 4; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(60 * time.Second))
		if resp := get(c, bufio.NewReader(c), "/"); resp.Close {
			t.Fatal("a keep-alive request was answered with Connection: close")
		}
		idle = append(idle, c)
	}
	time.Sleep(1500 * time.Millisecond)
	// Requests in flight.
	type result struct {
		resp *http.Response
		body string
		err  error
	}
	results := make(chan result, 4)
	for i := 0; i < 4; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(60 * time.Second))
		br := bufio.NewReader(c)
		get(c, br, "/")
		fmt.Fprintf(c, "GET /?until=stopping HTTP/1.1\r\nHost: svc\r\n\r\n")
		go func() {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				results <- result{err: err}
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- result{resp, string(b), err}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	reloaded := make(chan string, 1)
	go func() {
		out, code := s.run("reload")
		reloaded <- fmt.Sprintf("exit %d\n%s", code, out)
	}()
	for _, c := range idle {
		if n, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("idle connection: read %d %v, want EOF", n, err)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("idle connections were closed after %v, not at once (the window is 20s)", d)
	}
	for i := 0; i < 4; i++ {
		r := <-results
		if r.err != nil || r.resp.StatusCode != 200 || !strings.HasPrefix(r.body, "http v1 ") || !r.resp.Close {
			t.Errorf("request in flight: %v %q %v (Connection: close %v)", r.resp, r.body, r.err, r.resp != nil && r.resp.Close)
		}
	}
	if out := <-reloaded; !strings.HasPrefix(out, "exit 0") {
		t.Errorf("reload: %s", out)
	}
}

// The same with wrk, the load generator of the HTTP benchmarks: no socket
// error and no failed response across 10 reloads, plain and graceful.
func testHTTPReloadUnderWrk(t *testing.T, bins pmBins) {
	wrk := wmtest.RequireTool(t, "wrk")
	port := pmFreePort(t)
	s := newSvc(t, bins.v1, fmt.Sprintf("SVC_HTTP_ADDR=127.0.0.1:%d", port))
	s.startDaemon()
	cmd := exec.Command(wrk, "-t1", "-c16", "-d120s", fmt.Sprintf("http://127.0.0.1:%d/", port))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	time.Sleep(300 * time.Millisecond)
	for i := 0; i < 10; i++ {
		args := []string{"reload"}
		if i%2 == 1 {
			args = append(args, "-g")
		}
		s.must(args...)
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	t.Logf("wrk:\n%s", out.String())
	if !strings.Contains(out.String(), "requests in") || strings.Contains(out.String(), "Socket errors") || strings.Contains(out.String(), "Non-2xx") {
		t.Errorf("wrk across 10 reloads:\n%s", out.String())
	}
}
