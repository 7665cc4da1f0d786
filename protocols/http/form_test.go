package http_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

// TestRequestForm: Form and Input merge the query and the body like PHP's
// $_REQUEST, the body winning where both carry a name.
func TestRequestForm(t *testing.T) {
	w := workerman.NewWorker("http://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) {
		r := data.(*wmhttp.Request)
		form, err := r.Form()
		c.Send(fmt.Sprintf("%v|%s|%s|%s|%q|%v", form, r.Input("a"), r.Input("b"), r.Input("both"), r.Input("none"), err))
	}
	addr := wmtest.Serve(t, w)
	for _, tc := range []struct{ ct, body, want string }{
		{"application/x-www-form-urlencoded", "b=2&both=body&both=body2",
			`map[a:[1] b:[2] both:[body body2 query]]|1|2|body|""|<nil>`},
		{"application/json", `{"b":"j","both":"json"}`,
			`map[a:[1] b:[j] both:[json query]]|1|j|json|""|<nil>`},
		// An empty body field still wins over the query, as in $_REQUEST.
		{"application/x-www-form-urlencoded", "both=",
			`map[a:[1] both:[ query]]|1|||""|<nil>`},
	} {
		resp, err := client().Post("http://"+addr+"/?a=1&both=query", tc.ct, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != tc.want {
			t.Errorf("%s %s:\n got %s\nwant %s", tc.ct, tc.body, b, tc.want)
		}
	}
	if b := getBody(t, "http://"+addr+"/?a=x&a=y"); b != `map[a:[x y]]|x|||""|<nil>` {
		t.Errorf("GET: %s", b)
	}
}

// TestUploadedFileSaveTo: SaveTo writes an uploaded file, held in memory
// or spilled to a temporary file, to the path given, with mode 0644,
// replacing what was there; a path it cannot create is an error.
func TestUploadedFileSaveTo(t *testing.T) {
	dir := t.TempDir()
	p := &wmhttp.Protocol{BodyMemoryLimit: 64 << 10, MaxBodySize: 8 << 20}
	addr := serve(t, p, func(c *workerman.Connection, r *wmhttp.Request) {
		f := r.File("up")
		if f == nil {
			c.Send("no file")
			return
		}
		dst := filepath.Join(dir, r.Get("to"))
		c.Send(fmt.Sprint(f.SaveTo(dst)))
	})
	for i, size := range []int{100, 3 << 20} { // in memory, and from a temporary file
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("up", "a.bin")
		content := bytes.Repeat([]byte{byte('a' + i), 0, 0xff}, size/3)
		fw.Write(content)
		mw.Close()
		name := fmt.Sprintf("saved%d.bin", i)
		// An older, longer file is replaced.
		os.WriteFile(filepath.Join(dir, name), bytes.Repeat([]byte("old"), size), 0o600)
		resp, err := client().Post("http://"+addr+"/?to="+name, mw.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "<nil>" {
			t.Fatalf("size %d: SaveTo: %s", size, b)
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("size %d: saved %d bytes (%v), want the %d uploaded", size, len(got), err, len(content))
		}
	}
	// A new file gets mode 0644.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("up", "a.bin")
	fw.Write([]byte("new"))
	mw.Close()
	body := buf.Bytes()
	post := func(to string) string {
		resp, err := client().Post("http://"+addr+"/?to="+to, mw.FormDataContentType(), bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if r := post("fresh.bin"); r != "<nil>" {
		t.Fatal(r)
	}
	if fi, err := os.Stat(filepath.Join(dir, "fresh.bin")); err != nil || fi.Mode().Perm()&^0o022 != 0o644&^0o022 {
		t.Fatalf("fresh.bin: %v %v", fi, err)
	}
	if r := post("missing-dir/x.bin"); !strings.Contains(r, "no such file or directory") {
		t.Fatalf("SaveTo into a missing directory: %s", r)
	}
}
