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
// checks the page, a browser-side WebSocket user (Python websockets) and a
// terminal user meet in one room, that status answers, and that stop
// stops it.
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

	// A terminal user joins first and waits for the browser user's line.
	term, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port+2), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	term.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(term)
	if line, _ := r.ReadString('\n'); !strings.HasPrefix(line, "you are guest") {
		t.Fatalf("terminal greeting %q", line)
	}
	script := `
import asyncio, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1]) as ws:
        assert (await ws.recv()).startswith("you are guest")
        await ws.send("/nick alice")
        await ws.send("hello from the browser")
        while True:
            m = await ws.recv()
            if m.endswith(": hi alice"):
                print("OK")
                return
asyncio.run(main())
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
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("terminal: %v", err)
		}
		if strings.TrimSpace(line) == "alice: hello from the browser" {
			break
		}
	}
	term.Write([]byte("hi alice\n"))
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

// freePorts finds a port p with p, p+1 and p+2 free on 127.0.0.1.
func freePorts(t *testing.T) int {
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		ok := p < 65530
		for k := 0; ok && k < 3; k++ {
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
	t.Fatal("no three consecutive free ports")
	return 0
}
