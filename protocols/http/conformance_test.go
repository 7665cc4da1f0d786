package http_test

import (
	"bufio"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

// TestHostValidation: a Host field that is not uri-host [":" port] is
// refused with 400 (RFC 9112 section 3.2); valid ones are served.
func TestHostValidation(t *testing.T) {
	var hosts []string
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		hosts = append(hosts, r.Host())
		c.Send("ok")
	})
	for _, h := range []string{"bad host", "a/b", "<x>", "a@b", "a:b", "a:80x", "[::1", "[]", "a%zz", "a\"b", "a\\b", "a{b}"} {
		r := roundTrip(t, addr, "GET / HTTP/1.1\r\nHost: "+h+"\r\n\r\n")
		if r.StatusCode != 400 {
			t.Errorf("Host %q: status %d, want 400", h, r.StatusCode)
		}
	}
	for _, h := range []string{"a.example", "a.example:8080", "127.0.0.1:80", "[::1]:80", "[::1]", "xn--d1acufc.example", "a%41b", "a_b-c~d", ""} {
		r := roundTrip(t, addr, "GET / HTTP/1.1\r\nHost: "+h+"\r\n\r\n")
		if r.StatusCode != 200 {
			t.Errorf("Host %q: status %d, want 200", h, r.StatusCode)
		}
	}
	// Targets in absolute-form are checked the same way, and an http URI
	// needs a host and has no userinfo.
	for _, tg := range []string{"http://a@b/", "http:///x", "http://a b/", "http://<x>/", "https://:80/"} {
		r := roundTrip(t, addr, "GET "+tg+" HTTP/1.1\r\nHost: a\r\n\r\n")
		if r.StatusCode != 400 {
			t.Errorf("target %q: status %d, want 400", tg, r.StatusCode)
		}
	}
}

// TestAbsoluteFormHost: the authority of an absolute-form target replaces
// the Host field (RFC 9112 section 3.2.2).
func TestAbsoluteFormHost(t *testing.T) {
	type seen struct{ host, name, path, query string }
	var got []seen
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		got = append(got, seen{r.Host(), r.HostName(), r.Path(), r.QueryString()})
		c.Send("ok")
	})
	for _, tc := range []struct {
		target string
		want   seen
	}{
		{"http://other.example/x", seen{"other.example", "other.example", "/x", ""}},
		{"HTTP://Other.Example:8080/x?q=1", seen{"Other.Example:8080", "other.example", "/x", "q=1"}},
		{"https://other.example", seen{"other.example", "other.example", "/", ""}},
		{"http://other.example?a=b", seen{"other.example", "other.example", "/", "a=b"}},
	} {
		r := roundTrip(t, addr, "GET "+tc.target+" HTTP/1.1\r\nHost: good.example\r\n\r\n")
		if r.StatusCode != 200 {
			t.Fatalf("%s: status %d", tc.target, r.StatusCode)
		}
		var g seen
		wmDo(func() { g = got[len(got)-1] })
		if g != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.target, g, tc.want)
		}
	}
}

// TestHigherMinorVersion: HTTP/1.2 is answered as HTTP/1.1 (RFC 9110
// section 2.5); another major version is still 505.
func TestHigherMinorVersion(t *testing.T) {
	var versions []string
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		versions = append(versions, r.ProtocolVersion())
		c.Send("ok")
	})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := 0; i < 2; i++ {
		io.WriteString(c, "GET / HTTP/1.9\r\nHost: a\r\n\r\n")
		r := readResponse(t, br, "GET")
		if r.StatusCode != 200 || r.Proto != "HTTP/1.1" || r.Close {
			t.Fatalf("HTTP/1.9: %d %s close=%v", r.StatusCode, r.Proto, r.Close)
		}
	}
	var v []string
	wmDo(func() { v = append(v, versions...) })
	if len(v) != 2 || v[0] != "1.1" {
		t.Fatalf("versions %q", v)
	}
	// Like 1.1, it needs a Host field.
	if r := roundTrip(t, addr, "GET / HTTP/1.2\r\n\r\n"); r.StatusCode != 400 {
		t.Fatalf("HTTP/1.2 without Host: %d", r.StatusCode)
	}
	for _, v := range []string{"HTTP/2.0", "HTTP/0.9", "HTTP/3.1"} {
		if r := roundTrip(t, addr, "GET / "+v+"\r\nHost: a\r\n\r\n"); r.StatusCode != 505 {
			t.Fatalf("%s: %d, want 505", v, r.StatusCode)
		}
	}
}

// TestRequestLineLimit: a request line over MaxRequestLine gets 414
// whatever its length, and 431 is only for header fields.
func TestRequestLineLimit(t *testing.T) {
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) { c.Send("ok") })
	for _, tc := range []struct {
		name string
		raw  string
		code int
	}{
		{"9 KB line", "GET /" + strings.Repeat("a", 9<<10) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"15 KB line", "GET /" + strings.Repeat("a", 15<<10) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"20 KB line", "GET /" + strings.Repeat("a", 20<<10) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"100 KB line", "GET /" + strings.Repeat("a", 100<<10) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"100 KB line, no end", "GET /" + strings.Repeat("a", 100<<10), 414},
		{"9 KB line and large head", "GET /" + strings.Repeat("a", 9<<10) + " HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("b", 10<<10) + "\r\n\r\n", 414},
		{"short line, large head", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("b", 20<<10) + "\r\n\r\n", 431},
		{"short line, large head, no end", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("b", 20<<10), 431},
		{"8 KB line", "GET /" + strings.Repeat("a", 8<<10-15) + " HTTP/1.1\r\nHost: a\r\n\r\n", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			go io.WriteString(c, tc.raw)
			r := readResponse(t, bufio.NewReader(c), "GET")
			if r.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", r.StatusCode, tc.code)
			}
			if tc.code != 200 {
				expectClosed(t, c, 5*time.Second)
			}
		})
	}
}

// TestOptionsAsterisk: "OPTIONS *" reaches OnMessage with URI and Path
// "*"; the asterisk with another method is refused.
func TestOptionsAsterisk(t *testing.T) {
	var got []string
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		got = append(got, r.Method()+" "+r.URI()+" "+r.Path())
		c.Send("ok")
	})
	if r := roundTrip(t, addr, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"); r.StatusCode != 200 {
		t.Fatalf("OPTIONS *: %d", r.StatusCode)
	}
	var g []string
	wmDo(func() { g = append(g, got...) })
	if len(g) != 1 || g[0] != "OPTIONS * *" {
		t.Fatalf("handler saw %q", g)
	}
	if r := roundTrip(t, addr, "GET * HTTP/1.1\r\nHost: a\r\n\r\n"); r.StatusCode != 400 {
		t.Fatalf("GET *: %d", r.StatusCode)
	}
}
