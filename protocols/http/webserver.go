package http

import (
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"mime/multipart"
	nethttp "net/http"
	"net/textproto"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/workerman-go/workerman"
)

// WebServer serves static files from a document root per host name, the
// manual's WebServer:
//
//	ws := http.NewWebServer("http://0.0.0.0:8080")
//	ws.AddRoot("www.example.com", "/your/path/of/web/")
//	ws.AddRoot("blog.example.com", "/your/path/of/blog/")
//	ws.Count = 4
//	workerman.RunAll()
//
// A request for a file that does not exist goes to Handler (the index
// handler, where PHP's WebServer runs index.php), or gets 404; so does a
// file named with a trailing slash ("/a.txt/"). It answers GET and HEAD
// with Last-Modified, ETag, If-Modified-Since, If-None-Match, If-Range
// and byte ranges (several as multipart/byteranges, at most MaxRanges and
// none overlapping, else 416), and "OPTIONS *" with the methods it
// allows; it refuses paths that leave the root (also through symbolic
// links) and dot-files, and lists directories only when ListDirectories
// is set. The document root is chosen by Request.HostName: the Host field,
// or the authority of an absolute-form target.
type WebServer struct {
	*workerman.Worker
	// Index is the file served for a directory; "" means "index.html".
	Index string
	// Handler answers requests no file matches. Nil means 404.
	Handler func(c *workerman.Connection, r *Request)
	// ListDirectories lists a directory that has no index file.
	ListDirectories bool
	// MIMETypes maps extensions (".wasm") to content types, before the
	// system's table.
	MIMETypes map[string]string

	roots       map[string]*os.Root
	defaultRoot *os.Root
}

// NewWebServer returns a web server listening on address (an http://
// address, or another scheme whose protocol yields *Request).
func NewWebServer(address string) *WebServer {
	ws := &WebServer{Worker: workerman.NewWorker(address), roots: map[string]*os.Root{}}
	ws.Worker.Name = "WebServer"
	ws.Worker.OnMessage = ws.OnMessage
	return ws
}

// AddRoot serves the files of dir for requests to host ("" or "*" for
// any host without a root of its own). The first root added is also the
// default.
func (ws *WebServer) AddRoot(host, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("http: document root for %q: %w", host, err)
	}
	host = strings.ToLower(host)
	if host == "*" {
		host = ""
	}
	if host == "" {
		ws.defaultRoot = root
	} else {
		ws.roots[host] = root
	}
	if ws.defaultRoot == nil {
		ws.defaultRoot = root
	}
	return nil
}

// OnMessage is the worker's message callback; call it from your own
// OnMessage to serve files for some requests.
func (ws *WebServer) OnMessage(c *workerman.Connection, data any) {
	r, ok := data.(*Request)
	if !ok {
		c.Close()
		return
	}
	if !ws.ServeFile(c, r) {
		if ws.Handler != nil {
			ws.Handler(c, r)
			return
		}
		c.Send(NewResponse(404, map[string]string{"Content-Type": "text/plain; charset=utf-8"}, "404 Not Found\n"))
	}
}

// ServeFile answers r with a file of the root for its host and reports
// true, or reports false when no file matches (the request is not
// answered then).
func (ws *WebServer) ServeFile(c *workerman.Connection, r *Request) bool {
	root := ws.roots[r.HostName()]
	if root == nil {
		root = ws.defaultRoot
	}
	if root == nil {
		return false
	}
	if r.URI() == "*" {
		// "OPTIONS *" asks about the server, not a resource.
		c.Send(NewResponse(200, map[string]string{"Allow": "GET, HEAD, OPTIONS"}, ""))
		return true
	}
	p, err := url.PathUnescape(r.Path())
	if err != nil || strings.IndexByte(p, 0) >= 0 {
		c.Send(NewResponse(400, nil, "400 Bad Request\n"))
		return true
	}
	name := path.Clean("/" + p)
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") {
			// Dot-files (.git, .env, .htpasswd) are never served.
			return false
		}
	}
	rel := strings.TrimPrefix(name, "/")
	if rel == "" {
		rel = "."
	}
	f, err := root.Open(rel)
	if err != nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return false
	}
	if fi.IsDir() {
		f.Close()
		if !strings.HasSuffix(r.Path(), "/") {
			loc := r.Path() + "/"
			if q := r.QueryString(); q != "" {
				loc += "?" + q
			}
			c.Send(NewResponse(301, map[string]string{"Location": loc}, ""))
			return true
		}
		idx := ws.Index
		if idx == "" {
			idx = "index.html"
		}
		ip := path.Join(rel, idx)
		if f, err = root.Open(ip); err == nil {
			if fi, err = f.Stat(); err == nil && !fi.IsDir() {
				rel = ip
				goto serve
			}
			f.Close()
		}
		if ws.ListDirectories {
			return ws.list(c, r, root, rel)
		}
		return false
	}
	if !fi.Mode().IsRegular() || strings.HasSuffix(p, "/") {
		// A file is not a directory: "/a.txt/" names nothing.
		f.Close()
		return false
	}
serve:
	m := r.Method()
	if m != "GET" && m != "HEAD" {
		f.Close()
		c.Send(NewResponse(405, map[string]string{"Allow": "GET, HEAD"}, "405 Method Not Allowed\n"))
		return true
	}
	ws.serveOpen(c, r, f, fi, rel)
	return true
}

// contentType returns the type of a file name.
func (ws *WebServer) contentType(name string) string {
	ext := strings.ToLower(filepath.Ext(name))
	if t, ok := ws.MIMETypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

func etagOf(fi fs.FileInfo) string {
	return `"` + strconv.FormatInt(fi.ModTime().UnixNano(), 36) + "-" + strconv.FormatInt(fi.Size(), 36) + `"`
}

// etagMatch reports whether an If-None-Match or If-Range list names etag.
func etagMatch(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func (ws *WebServer) serveOpen(c *workerman.Connection, r *Request, f *os.File, fi fs.FileInfo, name string) {
	mod := fi.ModTime().UTC().Truncate(time.Second)
	etag := etagOf(fi)
	lastMod := mod.Format(nethttp.TimeFormat)
	hdr := map[string]string{
		"Last-Modified": lastMod,
		"ETag":          etag,
		"Accept-Ranges": "bytes",
		"Content-Type":  ws.contentType(name),
	}
	notModified := false
	if inm := r.Header("If-None-Match"); inm != "" {
		notModified = etagMatch(inm, etag)
	} else if ims := r.Header("If-Modified-Since"); ims != "" {
		if t, err := nethttp.ParseTime(ims); err == nil && !mod.After(t) {
			notModified = true
		}
	}
	if notModified {
		f.Close()
		delete(hdr, "Content-Type")
		delete(hdr, "Accept-Ranges")
		c.Send(NewResponse(304, hdr, ""))
		return
	}
	size := fi.Size()
	if rg := r.Header("Range"); rg != "" && size > 0 {
		ok := true
		if ir := r.Header("If-Range"); ir != "" {
			if strings.HasPrefix(ir, `"`) || strings.HasPrefix(ir, "W/") {
				ok = ir == etag
			} else if t, err := nethttp.ParseTime(ir); err != nil || !mod.Equal(t) {
				ok = false
			}
		}
		if ok {
			ranges, status := parseRanges(rg, size)
			switch {
			case status == 206 && len(ranges) == 1:
				start, end := ranges[0].start, ranges[0].end
				hdr["Content-Range"] = "bytes " + strconv.FormatInt(start, 10) + "-" + strconv.FormatInt(end-1, 10) + "/" + strconv.FormatInt(size, 10)
				c.Send(NewResponse(206, hdr, "").withOpenFile(f, start, end-start))
				return
			case status == 206 && rangesSize(ranges) <= maxMultipartBytes:
				body, ctype, err := multipartRanges(f, ranges, size, hdr["Content-Type"])
				f.Close()
				if err != nil {
					slog.Error("http: reading file ranges failed", "file", name, "err", err)
					c.Send(NewResponse(500, nil, "500 Internal Server Error\n"))
					return
				}
				hdr["Content-Type"] = ctype
				c.Send(NewResponse(206, hdr, body))
				return
			case status == 416:
				f.Close()
				hdr["Content-Range"] = "bytes */" + strconv.FormatInt(size, 10)
				delete(hdr, "Content-Type")
				c.Send(NewResponse(416, hdr, ""))
				return
			}
		}
	}
	c.Send(NewResponse(200, hdr, "").withOpenFile(f, 0, size))
}

// MaxRanges bounds the ranges of one request: more get 416.
const MaxRanges = 16

// maxMultipartBytes bounds the bytes of a multi-range response, which is
// built in memory; a larger one is answered with the whole file, as RFC
// 9110 section 14.2 allows.
const maxMultipartBytes = 1 << 20

type byteRange struct{ start, end int64 }

// parseRanges understands a Range field of byte ranges ("bytes=a-b",
// "bytes=a-", "bytes=-n", separated by commas). It returns 206 with the
// satisfiable ranges, [start,end) each; 416 when none is satisfiable, when
// there are more than MaxRanges, or when two overlap; or 200 to ignore the
// field (another unit, bad syntax).
func parseRanges(h string, size int64) ([]byteRange, int) {
	if !strings.HasPrefix(h, "bytes=") {
		return nil, 200
	}
	var out []byteRange
	specs := strings.Split(h[6:], ",")
	n := 0
	for _, spec := range specs {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		n++
		if n > MaxRanges {
			return nil, 416
		}
		r, ok, valid := parseRange(spec, size)
		if !valid {
			return nil, 200
		}
		if ok {
			out = append(out, r)
		}
	}
	if n == 0 {
		return nil, 200
	}
	if len(out) == 0 {
		return nil, 416
	}
	sorted := append([]byteRange(nil), out...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].start < sorted[j].start })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].start < sorted[i-1].end {
			return nil, 416
		}
	}
	return out, 206
}

// parseRange parses one range-spec. ok says it is satisfiable; valid
// says it is well formed.
func parseRange(spec string, size int64) (r byteRange, ok, valid bool) {
	i := strings.IndexByte(spec, '-')
	if i < 0 {
		return r, false, false
	}
	a, b := strings.TrimSpace(spec[:i]), strings.TrimSpace(spec[i+1:])
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 || b[0] == '+' {
			return r, false, false
		}
		if n == 0 || size == 0 {
			return r, false, true
		}
		return byteRange{size - min(n, size), size}, true, true
	}
	s, err := strconv.ParseInt(a, 10, 64)
	if err != nil || s < 0 || a[0] == '+' {
		return r, false, false
	}
	e := size
	if b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < s || b[0] == '+' {
			return r, false, false
		}
		e = min(n+1, size)
	}
	if s >= size {
		return r, false, true
	}
	return byteRange{s, e}, true, true
}

// multipartRanges builds a multipart/byteranges body of the ranges of f
// (RFC 9110 section 14.6), in the order they were asked for.
func multipartRanges(f *os.File, ranges []byteRange, size int64, ctype string) (string, string, error) {
	var b strings.Builder
	mw := multipart.NewWriter(&b)
	for _, r := range ranges {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":  {ctype},
			"Content-Range": {"bytes " + strconv.FormatInt(r.start, 10) + "-" + strconv.FormatInt(r.end-1, 10) + "/" + strconv.FormatInt(size, 10)},
		})
		if err != nil {
			return "", "", err
		}
		if _, err := io.Copy(w, io.NewSectionReader(f, r.start, r.end-r.start)); err != nil {
			return "", "", err
		}
	}
	if err := mw.Close(); err != nil {
		return "", "", err
	}
	return b.String(), "multipart/byteranges; boundary=" + mw.Boundary(), nil
}

func rangesSize(ranges []byteRange) (n int64) {
	for _, r := range ranges {
		n += r.end - r.start
	}
	return n
}

func (ws *WebServer) list(c *workerman.Connection, r *Request, root *os.Root, rel string) bool {
	d, err := root.Open(rel)
	if err != nil {
		return false
	}
	ents, err := d.ReadDir(-1)
	d.Close()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	var b strings.Builder
	title := html.EscapeString(r.Path())
	b.WriteString("<!doctype html><meta charset=utf-8><title>Index of " + title + "</title><h1>Index of " + title + "</h1><ul>\n")
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") {
			continue
		}
		if e.IsDir() {
			n += "/"
		}
		b.WriteString(`<li><a href="` + html.EscapeString((&url.URL{Path: n}).EscapedPath()) + `">` + html.EscapeString(n) + "</a>\n")
	}
	b.WriteString("</ul>\n")
	c.Send(NewResponse(200, map[string]string{"Content-Type": "text/html; charset=utf-8"}, b.String()))
	return true
}
