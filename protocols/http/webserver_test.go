package http_test

import (
	"bufio"
	"io"
	nethttp "net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

func webRoot(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func startWebServer(t *testing.T, setup func(ws *wmhttp.WebServer)) string {
	ws := wmhttp.NewWebServer("http://127.0.0.1:0")
	setup(ws)
	return wmtest.Serve(t, ws.Worker)
}

func doReq(t *testing.T, method, url string, hdr map[string]string) (int, nethttp.Header, string) {
	t.Helper()
	req, _ := nethttp.NewRequest(method, url, nil)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestWebServer(t *testing.T) {
	www := webRoot(t, map[string]string{
		"index.html": "<h1>www</h1>", "style.css": "body{}", "app.wasm": "\x00asm",
		"docs/index.html": "docs index", "files/a.txt": "A", "files/b.txt": "B",
		".env": "SECRET=1", ".git/config": "x", "sub/.hidden": "h",
	})
	blog := webRoot(t, map[string]string{"index.html": "blog home", "post.txt": "0123456789"})
	secret := webRoot(t, map[string]string{"secret.txt": "outside"})
	os.Symlink(filepath.Join(secret, "secret.txt"), filepath.Join(www, "escape.txt"))
	os.Symlink(secret, filepath.Join(www, "escapedir"))
	addr := startWebServer(t, func(ws *wmhttp.WebServer) {
		if err := ws.AddRoot("www.example.com", www); err != nil {
			t.Fatal(err)
		}
		ws.AddRoot("blog.example.com", blog)
		ws.MIMETypes = map[string]string{".wasm": "application/wasm"}
		ws.Handler = func(c *workerman.Connection, r *wmhttp.Request) {
			c.Send(wmhttp.NewResponse(404, nil, "fallback "+r.Path()))
		}
	})
	base := "http://" + addr
	www1 := map[string]string{"Host": "www.example.com"}
	blog1 := map[string]string{"Host": "blog.example.com:8080"}

	check := func(method, path string, hdr map[string]string, code int, body string) nethttp.Header {
		t.Helper()
		got, h, b := doReq(t, method, base+path, hdr)
		if got != code || (body != "*" && b != body) {
			t.Fatalf("%s %s %v: %d %q, want %d %q", method, path, hdr, got, b, code, body)
		}
		return h
	}
	check("GET", "/", www1, 200, "<h1>www</h1>")
	check("GET", "/", blog1, 200, "blog home")
	check("GET", "/", map[string]string{"Host": "unknown.example"}, 200, "<h1>www</h1>") // first root is the default
	if h := check("GET", "/style.css", www1, 200, "body{}"); !strings.HasPrefix(h.Get("Content-Type"), "text/css") {
		t.Fatalf("css type %q", h.Get("Content-Type"))
	}
	if h := check("GET", "/app.wasm", www1, 200, "*"); h.Get("Content-Type") != "application/wasm" {
		t.Fatalf("wasm type %q", h.Get("Content-Type"))
	}
	check("GET", "/docs/", www1, 200, "docs index")
	check("GET", "/missing.html", www1, 404, "fallback /missing.html")
	// No dot-files, no escape, no listing.
	check("GET", "/.env", www1, 404, "fallback /.env")
	check("GET", "/.git/config", www1, 404, "fallback /.git/config")
	check("GET", "/sub/.hidden", www1, 404, "fallback /sub/.hidden")
	check("GET", "/escape.txt", www1, 404, "fallback /escape.txt")
	check("GET", "/escapedir/secret.txt", www1, 404, "fallback /escapedir/secret.txt")
	check("GET", "/files/", www1, 404, "fallback /files/")
	for _, p := range []string{"/../" + filepath.Base(secret) + "/secret.txt", "/%2e%2e/%2e%2e/etc/passwd", "/files/..%2f..%2f" + filepath.Base(secret) + "%2fsecret.txt"} {
		c := dial(t, addr)
		io.WriteString(c, "GET "+p+" HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
		r := readResponse(t, bufio.NewReader(c), "GET")
		if strings.Contains(r.Body, "outside") || strings.Contains(r.Body, "root:") {
			t.Fatalf("traversal %s served %q", p, r.Body)
		}
	}
	// Caching: ETag and Last-Modified.
	h := check("GET", "/post.txt", blog1, 200, "0123456789")
	etag, lm := h.Get("ETag"), h.Get("Last-Modified")
	if etag == "" || lm == "" {
		t.Fatalf("no validators: %v", h)
	}
	check("GET", "/post.txt", map[string]string{"Host": "blog.example.com", "If-None-Match": etag}, 304, "")
	check("GET", "/post.txt", map[string]string{"Host": "blog.example.com", "If-Modified-Since": lm}, 304, "")
	check("GET", "/post.txt", map[string]string{"Host": "blog.example.com", "If-None-Match": `"other"`}, 200, "0123456789")
	// Ranges.
	if h := check("GET", "/post.txt", map[string]string{"Host": "blog.example.com", "Range": "bytes=2-4"}, 206, "234"); h.Get("Content-Range") != "bytes 2-4/10" {
		t.Fatalf("Content-Range %q", h.Get("Content-Range"))
	}
	check("GET", "/post.txt", map[string]string{"Host": "blog.example.com", "Range": "bytes=-3"}, 206, "789")
	check("GET", "/post.txt", map[string]string{"Host": "blog.example.com", "Range": "bytes=7-"}, 206, "789")
	check("GET", "/post.txt", map[string]string{"Host": "blog.example.com", "Range": "bytes=20-"}, 416, "")
	check("GET", "/post.txt", map[string]string{"Host": "blog.example.com", "Range": "bytes=0-1,3-4"}, 200, "0123456789")
	check("GET", "/post.txt", map[string]string{"Host": "blog.example.com", "Range": "bytes=2-4", "If-Range": `"stale"`}, 200, "0123456789")
	check("GET", "/post.txt", map[string]string{"Host": "blog.example.com", "Range": "bytes=2-4", "If-Range": etag}, 206, "234")
	// HEAD and other methods.
	if code, h, b := doReq(t, "HEAD", base+"/post.txt", blog1); code != 200 || b != "" || h.Get("Content-Length") != "10" {
		t.Fatalf("HEAD: %d %q %v", code, b, h)
	}
	check("POST", "/post.txt", blog1, 405, "405 Method Not Allowed\n")
	// Directory without slash redirects.
	c := dial(t, addr)
	io.WriteString(c, "GET /docs?x=1 HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
	if r := readResponse(t, bufio.NewReader(c), "GET"); r.StatusCode != 301 || r.Header.Get("Location") != "/docs/?x=1" {
		t.Fatalf("redirect: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

func TestWebServerListingAndDefault404(t *testing.T) {
	root := webRoot(t, map[string]string{"d/a.txt": "a", "d/b <x>.txt": "b", "d/.secret": "s"})
	addr := startWebServer(t, func(ws *wmhttp.WebServer) {
		ws.AddRoot("", root)
		ws.ListDirectories = true
	})
	code, _, body := doReq(t, "GET", "http://"+addr+"/d/", nil)
	if code != 200 || !strings.Contains(body, `href="a.txt"`) || !strings.Contains(body, "b &lt;x&gt;.txt") || strings.Contains(body, ".secret") {
		t.Fatalf("listing %d %q", code, body)
	}
	if code, _, _ := doReq(t, "GET", "http://"+addr+"/nope", nil); code != 404 {
		t.Fatalf("missing file: %d", code)
	}
}
