package http_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	bin := wmtest.RequireTool(t, name)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func TestCurl(t *testing.T) {
	wmtest.RequireTool(t, "curl")
	dir := t.TempDir()
	big := filepath.Join(dir, "upload.bin")
	os.WriteFile(big, []byte(strings.Repeat("z", 3<<20)), 0o644)
	store, _ := wmhttp.NewFileStore(filepath.Join(dir, "sessions"))
	p := &wmhttp.Protocol{BodyMemoryLimit: 256 << 10, Session: wmhttp.SessionConfig{Store: store}}
	// A WebServer serves the files of dir; other paths go to the app.
	ws := wmhttp.NewWebServer("http://127.0.0.1:0")
	ws.Protocol = p
	ws.AddRoot("", dir)
	ws.Handler = func(c *workerman.Connection, r *wmhttp.Request) {
		if r.Path() == "/count" {
			counterApp(c, r)
			return
		}
		echoInfo(c, r)
	}
	addr := wmtest.Serve(t, ws.Worker)
	base := "http://" + addr
	curl := func(args ...string) string {
		return runTool(t, "curl", append([]string{"-sS", "--max-time", "20"}, args...)...)
	}
	if out := curl(base + "/?a=1"); parseInfo(out)["get.a"] != "1" {
		t.Fatalf("get: %q", out)
	}
	if m := parseInfo(curl("-d", "x=1&y=2", base+"/")); m["post.x"] != "1" || m["post.y"] != "2" {
		t.Fatalf("form: %v", m)
	}
	m := parseInfo(curl("-F", "x=v", "-F", "up=@"+big+";type=application/x-test", base+"/up"))
	if m["file.up"] != fmt.Sprintf("upload.bin,%d,application/x-test,%d", 3<<20, 3<<20) || m["post.x"] != "v" {
		t.Fatalf("upload: %v", m)
	}
	m = parseInfo(curl("-H", "Transfer-Encoding: chunked", "--data-binary", "@"+big, base+"/chunked"))
	if m["bodylen"] != strconv.Itoa(3<<20) {
		t.Fatalf("chunked upload: %v", m)
	}
	if m := parseInfo(curl("--http1.0", base+"/")); m["version"] != "1.0" || m["keepalive"] != "false" {
		t.Fatalf("1.0: %v", m)
	}
	// Keep-alive: curl reuses one connection for several URLs.
	out := curl("-v", base+"/a", base+"/b", base+"/c")
	if n := strings.Count(out, "Connected to"); n != 1 {
		t.Fatalf("curl opened %d connections for 3 keep-alive requests:\n%s", n, out)
	}
	// Ranges and whole large files.
	if out := curl("-r", "10-19", base+"/upload.bin"); out != strings.Repeat("z", 10) {
		t.Fatalf("range: %.100q", out)
	}
	got := filepath.Join(t.TempDir(), "got.bin")
	curl("-o", got, base+"/upload.bin")
	if fi, err := os.Stat(got); err != nil || fi.Size() != 3<<20 {
		t.Fatalf("download: %v %v", fi, err)
	}
	// Sessions with a cookie jar.
	jar := filepath.Join(dir, "jar")
	first := curl("-c", jar, "-b", jar, base+"/count")
	second := curl("-c", jar, "-b", jar, base+"/count")
	id, _, _ := strings.Cut(first, " ")
	if second != id+" 2" {
		t.Fatalf("session: %q then %q", first, second)
	}
}

var wrkRe = regexp.MustCompile(`(\d+) requests in`)

func TestWrkLoad(t *testing.T) {
	wmtest.RequireTool(t, "wrk")
	var served int
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		served++
		c.Send("hello world")
	})
	script := filepath.Join(t.TempDir(), "pipeline.lua")
	os.WriteFile(script, []byte(pipelineLua), 0o644)
	for _, args := range [][]string{
		{"-t1", "-c32", "-d2s", "http://" + addr + "/"},
		{"-t1", "-c8", "-d2s", "-s", script, "http://" + addr + "/", "--", "16"},
	} {
		before := 0
		wmtest.Do(func() { before = served })
		out := runTool(t, "wrk", args...)
		m := wrkRe.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("wrk output: %s", out)
		}
		n, _ := strconv.Atoi(m[1])
		if n < 1000 || strings.Contains(out, "Socket errors") || strings.Contains(out, "Non-2xx") {
			t.Fatalf("wrk %v:\n%s", args, out)
		}
		after := 0
		wmtest.Do(func() { after = served })
		if after-before < n {
			t.Fatalf("wrk counted %d responses but the server answered %d", n, after-before)
		}
	}
}

// pipelineLua makes wrk send depth requests at once (argument 1).
const pipelineLua = `
init = function(args)
  local depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do r[i] = wrk.format() end
  req = table.concat(r)
end
request = function() return req end
`
