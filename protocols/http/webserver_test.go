package http_test

import (
	"bufio"
	"io"
	"mime"
	"mime/multipart"
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
	check("GET", "/post.txt", map[string]string{"Host": "blog.example.com", "Range": "bytes=0-1,3-4"}, 206, "*")
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

// TestWebServerRangesAndPaths: several ranges are served as
// multipart/byteranges within bounds; a file named with a trailing slash
// is not found; "OPTIONS *" is answered; an absolute-form target picks
// the document root of its authority.
func TestWebServerRangesAndPaths(t *testing.T) {
	www := webRoot(t, map[string]string{"a.txt": "0123456789", "index.html": "www"})
	blog := webRoot(t, map[string]string{"a.txt": "blog a", "index.html": "blog"})
	addr := startWebServer(t, func(ws *wmhttp.WebServer) {
		ws.AddRoot("www.example", www)
		ws.AddRoot("blog.example", blog)
	})
	get := func(raw string) rawResponse {
		t.Helper()
		return roundTrip(t, addr, raw)
	}
	rangeReq := func(spec string) rawResponse {
		return get("GET /a.txt HTTP/1.1\r\nHost: www.example\r\nRange: " + spec + "\r\n\r\n")
	}
	type part struct{ rng, body string }
	parts := func(r rawResponse) []part {
		t.Helper()
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/byteranges" {
			t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
		}
		var out []part
		mr := multipart.NewReader(strings.NewReader(r.Body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(p)
			if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Fatalf("part type %q", ct)
			}
			out = append(out, part{p.Header.Get("Content-Range"), string(b)})
		}
	}
	r := rangeReq("bytes=0-1,5-6")
	if r.StatusCode != 206 {
		t.Fatalf("two ranges: %d", r.StatusCode)
	}
	if got := parts(r); len(got) != 2 || got[0] != (part{"bytes 0-1/10", "01"}) || got[1] != (part{"bytes 5-6/10", "56"}) {
		t.Fatalf("parts %+v", got)
	}
	// Order as asked; an unsatisfiable range is left out.
	if got := parts(rangeReq("bytes=-2, 1-2, 50-60")); len(got) != 2 || got[0] != (part{"bytes 8-9/10", "89"}) || got[1] != (part{"bytes 1-2/10", "12"}) {
		t.Fatalf("parts %+v", got)
	}
	// One satisfiable range of several is a plain 206.
	if r := rangeReq("bytes=3-4,70-80"); r.StatusCode != 206 || r.Body != "34" || r.Header.Get("Content-Range") != "bytes 3-4/10" {
		t.Fatalf("one of two: %d %q", r.StatusCode, r.Body)
	}
	many := "bytes=" + strings.TrimSuffix(strings.Repeat("0-0,", wmhttp.MaxRanges+1), ",")
	for _, spec := range []string{many, "bytes=0-5,3-8", "bytes=0-,0-", "bytes=0-1,0-1", "bytes=50-60,70-"} {
		if r := rangeReq(spec); r.StatusCode != 416 || r.Header.Get("Content-Range") != "bytes */10" {
			t.Fatalf("%s: %d, want 416", spec, r.StatusCode)
		}
	}
	// Malformed Range fields are ignored.
	for _, spec := range []string{"bytes=a-b", "bytes=5-1", "items=0-1", "bytes=", "bytes=+1-2"} {
		if r := rangeReq(spec); r.StatusCode != 200 || r.Body != "0123456789" {
			t.Fatalf("%s: %d %q", spec, r.StatusCode, r.Body)
		}
	}
	// A file is not a directory.
	for _, p := range []string{"/a.txt/", "/a.txt/x", "/a.txt//"} {
		if r := get("GET " + p + " HTTP/1.1\r\nHost: www.example\r\n\r\n"); r.StatusCode != 404 {
			t.Fatalf("%s: %d %q", p, r.StatusCode, r.Body)
		}
	}
	// OPTIONS *.
	if r := get("OPTIONS * HTTP/1.1\r\nHost: www.example\r\n\r\n"); r.StatusCode != 200 || r.Header.Get("Allow") != "GET, HEAD, OPTIONS" || r.Body != "" {
		t.Fatalf("OPTIONS *: %d %v %q", r.StatusCode, r.Header, r.Body)
	}
	// The authority of an absolute-form target picks the root.
	if r := get("GET http://blog.example/a.txt HTTP/1.1\r\nHost: www.example\r\n\r\n"); r.Body != "blog a" {
		t.Fatalf("absolute-form: %d %q", r.StatusCode, r.Body)
	}
	if r := get("GET http://www.example:8080/a.txt HTTP/1.1\r\nHost: blog.example\r\n\r\n"); r.Body != "0123456789" {
		t.Fatalf("absolute-form with port: %d %q", r.StatusCode, r.Body)
	}
}
