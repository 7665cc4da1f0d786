package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman/internal/wmtest"
)

// TestDemo builds the demonstration server, starts it as a daemon, and
// checks the page, that two browser-side WebSocket users (Python
// websockets) served by different processes and a terminal user meet in
// one room, that status answers, that after a reload a WebSocket user and
// a terminal user are back in the room, and that stop stops it.
func TestDemo(t *testing.T) {
	py := wmtest.RequireTool(t, "/usr/bin/python3")
	if err := exec.Command(py, "-c", "import websockets").Run(); err != nil {
		wmtest.RequireTool(t, "python3-websockets")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "webchat")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	port := freePorts(t)
	env := append(os.Environ(), "WEBCHAT_HOST=127.0.0.1", "WEBCHAT_PORT="+strconv.Itoa(port),
		"WEBCHAT_PIDFILE="+filepath.Join(dir, "webchat.pid"))
	run := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("webchat %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("start", "-d"); !strings.Contains(out, "Start success") {
		t.Fatalf("start -d said:\n%s", out)
	}
	t.Cleanup(func() {
		cmd := exec.Command(bin, "stop")
		cmd.Env = env
		cmd.Run()
	})
	base := "127.0.0.1:" + strconv.Itoa(port)
	resp, err := http.Get("http://" + base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), ":"+strconv.Itoa(port+1)+"/") {
		t.Fatalf("page: %d\n%s", resp.StatusCode, body)
	}

	// A terminal user joins first and waits for the browser users' lines.
	term, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port+2), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	term.SetDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReader(term)
	if line, _ := r.ReadString('\n'); !strings.HasPrefix(line, "you are guestt") {
		t.Fatalf("terminal greeting %q", line)
	}
	// Two browser users served by the two different processes of the
	// WebSocket worker (names say the process: guestc0-…, guestc1-…): each
	// sees the other's line and the terminal's.
	script := `
import asyncio, sys, websockets
async def main():
    url = sys.argv[1]
    # The kernel spreads connections over the two processes' sockets
    # (ReusePort) by their addresses: a few connections reach both.
    async def join():
        # Nobody reads the spare connections: an unbounded queue lets
        # them take the room's messages and still close at once.
        ws = await websockets.connect(url, max_queue=None)
        greeting = await ws.recv()
        assert greeting.startswith("you are guestc"), greeting
        return greeting.split()[2][6], ws
    users, spare = {}, []
    for _ in range(10):
        for proc, ws in await asyncio.gather(*[join() for _ in range(20)]):
            if proc in users:
                spare.append(ws)
            else:
                users[proc] = ws
        if len(users) == 2:
            break
    assert len(users) == 2, "all connections went to one process: %r" % list(users)
    await asyncio.gather(*[ws.close() for ws in spare])
    a, b = users["0"], users["1"]
    await a.send("/nick alice")
    await b.send("/nick bob")
    await a.send("hello from alice")
    await b.send("hello from bob")
    async def until(ws, *lines):
        want = set(lines)
        while want:
            m = await ws.recv()
            want.discard(m)
    await asyncio.gather(until(a, "bob: hello from bob", "tom: hi all"), until(b, "alice: hello from alice", "tom: hi all"))
    print("OK")
asyncio.run(asyncio.wait_for(main(), 50))
`
	done := make(chan string, 1)
	go func() {
		out, err := exec.Command(py, "-c", script, "ws://127.0.0.1:"+strconv.Itoa(port+1)+"/").CombinedOutput()
		if err != nil {
			done <- err.Error() + ": " + string(out)
			return
		}
		done <- strings.TrimSpace(string(out))
	}()
	term.Write([]byte("/nick tom\n"))
	seen := map[string]bool{}
	for !seen["alice: hello from alice"] || !seen["bob: hello from bob"] {
		line, err := r.ReadString('\n')
		if err != nil {
			select {
			case got := <-done:
				t.Fatalf("terminal: %v; browser side: %s", err, got)
			case <-time.After(10 * time.Second):
			}
			t.Fatalf("terminal: %v (seen %v)", err, seen)
		}
		seen[strings.TrimSpace(line)] = true
	}
	term.Write([]byte("hi all\n"))
	if got := <-done; got != "OK" {
		t.Fatalf("browser side: %s", got)
	}
	if out := run("status"); !strings.Contains(out, "chat") || !strings.Contains(out, "web") {
		t.Fatalf("status:\n%s", out)
	}
	testReload(t, py, port, run)
	if out := run("stop"); !strings.Contains(out, "stop success") {
		t.Fatalf("stop:\n%s", out)
	}
}

// freePorts finds a port p with p to p+3 free on 127.0.0.1.
func freePorts(t *testing.T) int {
	// Many tries: other programs' connections may hold ports of the
	// ephemeral range.
	for i := 0; i < 1000; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		ok := p < 65530
		for k := 0; ok && k < 4; k++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+k))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no four consecutive free ports")
	return 0
}

// reloadScript is a browser-side user across a reload: it joins as alice,
// waits for the server's goodbye and prints its close code, reconnects as
// the page does, and waits for the terminal user's line.
const reloadScript = `
import asyncio, sys, websockets
async def main():
    url = sys.argv[1]
    ws = await websockets.connect(url)
    assert (await ws.recv()).startswith("you are ")
    await ws.send("/nick alice")
    print("READY", flush=True)
    try:
        while True:
            await ws.recv()
    except websockets.ConnectionClosed as e:
        print("CLOSED", e.rcvd.code if e.rcvd else None, flush=True)
    for _ in range(100):
        try:
            ws = await websockets.connect(url)
            break
        except OSError:
            await asyncio.sleep(0.1)
    assert (await ws.recv()).startswith("you are ")
    await ws.send("/nick alice")
    # The terminal user may not be back yet: say it until answered.
    async def say():
        while True:
            await ws.send("back from alice")
            await asyncio.sleep(0.5)
    sayer = asyncio.ensure_future(say())
    while (await ws.recv()) != "tom: back too":
        pass
    sayer.cancel()
    print("OK", flush=True)
asyncio.run(asyncio.wait_for(main(), 40))
`

// testReload reloads the running demo under a WebSocket user and a
// terminal user and checks that both are back in the room afterwards: the
// WebSocket user got the close code 1001 and reconnected, the terminal
// user was told and connected again.
func testReload(t *testing.T, py string, port int, run func(...string) string) {
	cmd := exec.Command(py, "-c", reloadScript, "ws://127.0.0.1:"+strconv.Itoa(port+1)+"/")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func(what string) string {
		select {
		case l, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("the WebSocket user ended before %s: %s", what, stderr.String())
			}
			return l
		case <-time.After(45 * time.Second):
			t.Fatalf("the WebSocket user did not get to %s: %s", what, stderr.String())
		}
		return ""
	}
	termAddr := "127.0.0.1:" + strconv.Itoa(port+2)
	term, err := net.DialTimeout("tcp", termAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	term.SetDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReader(term)
	r.ReadString('\n')
	if l := next("joining"); l != "READY" {
		t.Fatalf("WebSocket user: %q", l)
	}
	if out := run("reload"); !strings.Contains(out, "reload success") {
		t.Fatalf("reload:\n%s", out)
	}
	if l := next("the goodbye"); l != "CLOSED 1001" {
		t.Errorf("the WebSocket user's connection ended with %q, want close code 1001", l)
	}
	// The terminal is told, then closed.
	told := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		told = told || strings.Contains(line, "restarting")
	}
	if !told {
		t.Error("the terminal user was not told about the restart")
	}
	term, err = net.DialTimeout("tcp", termAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	term.SetDeadline(time.Now().Add(60 * time.Second))
	r = bufio.NewReader(term)
	if line, _ := r.ReadString('\n'); !strings.HasPrefix(line, "you are guestt") {
		t.Fatalf("terminal greeting after the reload %q", line)
	}
	term.Write([]byte("/nick tom\n"))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("terminal after the reload: %v", err)
		}
		if strings.TrimSpace(line) == "alice: back from alice" {
			break
		}
	}
	term.Write([]byte("back too\n"))
	if l := next("the terminal user's line"); l != "OK" {
		t.Errorf("WebSocket user after the reload: %q %s", l, stderr.String())
	}
	cmd.Wait()
}
