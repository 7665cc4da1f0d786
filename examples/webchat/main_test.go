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
// one room, that status answers, and that stop stops it.
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
	term.SetDeadline(time.Now().Add(30 * time.Second))
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
    users, spare = {}, []
    for _ in range(40):
        ws = await websockets.connect(url)
        greeting = await ws.recv()
        assert greeting.startswith("you are guestc"), greeting
        proc = greeting.split()[2][6]
        if proc in users:
            spare.append(ws)
        else:
            users[proc] = ws
        if len(users) == 2:
            break
    assert len(users) == 2, "all connections went to one process: %r" % list(users)
    for ws in spare:
        await ws.close()
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
asyncio.run(asyncio.wait_for(main(), 25))
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
	if out := run("stop"); !strings.Contains(out, "stop success") {
		t.Fatalf("stop:\n%s", out)
	}
}

// freePorts finds a port p with p to p+3 free on 127.0.0.1.
func freePorts(t *testing.T) int {
	for i := 0; i < 50; i++ {
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
