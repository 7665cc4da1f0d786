package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// origin answers with what it received.
func origin(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/big" {
		w.Write(bigBody())
		return
	}
	body, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "%s %s tls=%v proxy-connection=%q body=%s", r.Method, r.RequestURI, r.TLS != nil, r.Header.Get("Proxy-Connection"), body)
}

func bigBody() []byte {
	b := make([]byte, 8<<20)
	for i := range b {
		b[i] = byte(i * 7 >> 5)
	}
	return b
}

func proxyClient(t *testing.T, base *http.Transport) (*http.Client, string) {
	t.Helper()
	addr := wmtest.Serve(t, newProxy("tcp://127.0.0.1:0"))
	tr := base.Clone()
	tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: addr})
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, addr
}

func get(t *testing.T, cl *http.Client, method, u, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, u, err)
	}
	return resp.StatusCode, string(b)
}

// TestAbsoluteForm: plain http:// requests go to the site in origin form,
// with their body and without the proxy's own headers.
func TestAbsoluteForm(t *testing.T) {
	site := httptest.NewServer(http.HandlerFunc(origin))
	defer site.Close()
	cl, _ := proxyClient(t, &http.Transport{})
	for _, tc := range []struct{ method, path, body, want string }{
		{"GET", "/a/b?q=1", "", `GET /a/b?q=1 tls=false proxy-connection="" body=`},
		{"POST", "/form", "x=1&y=2", `POST /form tls=false proxy-connection="" body=x=1&y=2`},
	} {
		code, got := get(t, cl, tc.method, site.URL+tc.path, tc.body)
		if code != 200 || got != tc.want {
			t.Errorf("%s %s: %d %q, want %q", tc.method, tc.path, code, got, tc.want)
		}
	}
	// A large response arrives whole.
	resp, err := cl.Get(site.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	io.Copy(h, resp.Body)
	resp.Body.Close()
	if want := sha256.Sum256(bigBody()); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Error("the large response was changed on the way")
	}
}

// TestConnect: https:// goes through a CONNECT tunnel, TLS end to end.
func TestConnect(t *testing.T) {
	site := httptest.NewTLSServer(http.HandlerFunc(origin))
	defer site.Close()
	cl, _ := proxyClient(t, site.Client().Transport.(*http.Transport))
	for i := 0; i < 2; i++ {
		code, got := get(t, cl, "GET", site.URL+"/secure?x=1", "")
		if code != 200 || got != `GET /secure?x=1 tls=true proxy-connection="" body=` {
			t.Fatalf("through CONNECT: %d %q", code, got)
		}
	}
}

// TestErrors: an unreachable site is 502, a bad request 400.
func TestErrors(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	cl, addr := proxyClient(t, &http.Transport{})
	if code, body := get(t, cl, "GET", "http://"+dead+"/", ""); code != 502 || !strings.Contains(body, "connect to") {
		t.Errorf("unreachable site: %d %q", code, body)
	}
	for _, raw := range []string{
		"GET /relative HTTP/1.1\r\nHost: x\r\n\r\n",
		"CONNECT nohost HTTP/1.1\r\n\r\n",
		"garbage\r\n\r\n",
	} {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte(raw))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 400 {
			t.Errorf("%q: %v %v, want 400", raw, resp, err)
		}
		c.Close()
	}
	// A head that never ends is refused past its bound.
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go c.Write([]byte("GET http://x/ HTTP/1.1\r\n" + strings.Repeat("X-A: b\r\n", 10000)))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 431 {
		t.Errorf("endless head: %v %v, want 431", resp, err)
	}
}

// FuzzRoute: any request head is refused with a reason or routed to a
// "host:port" an outbound connection accepts, and an absolute-form
// request is rewritten to one head in origin form; never a panic.
func FuzzRoute(f *testing.F) {
	f.Add([]byte("GET http://example.com/a?b=1 HTTP/1.1\r\nHost: example.com\r\nProxy-Connection: keep-alive\r\n\r\n"))
	f.Add([]byte("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"))
	f.Add([]byte("CONNECT [::1]:8443 HTTP/1.1\r\n\r\n"))
	f.Add([]byte("POST http://[::1]:8080/x HTTP/1.0\r\nContent-Length: 3\r\n\r\n"))
	f.Add([]byte("GET /relative HTTP/1.1\r\n\r\n"))
	f.Add([]byte("CONNECT a/b:80 HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, head []byte) {
		tunnel, hostPort, first, err := route(head)
		if err != nil {
			if hostPort != "" || first != nil {
				t.Fatalf("refused (%v) with a route %q", err, hostPort)
			}
			return
		}
		if tunnel != (first == nil) {
			t.Fatalf("tunnel %v with first %q", tunnel, first)
		}
		if !tunnel {
			if !bytes.HasSuffix(first, []byte("\r\nConnection: close\r\n\r\n")) || bytes.Count(first, []byte("\r\n\r\n")) != 1 {
				t.Fatalf("rewritten head %q", first)
			}
			if line, _, _ := bytes.Cut(first, []byte("\r\n")); len(bytes.Fields(line)) != 3 || !bytes.Contains(line, []byte(" /")) {
				t.Fatalf("request line %q is not in origin form", line)
			}
		}
		var cerr error
		wmtest.Do(func() {
			var c *workerman.Connection
			if c, cerr = workerman.NewAsyncTcpConnection("tcp://"+hostPort, nil); cerr == nil {
				c.Destroy()
			}
		})
		if cerr != nil {
			t.Fatalf("route %q refused by NewAsyncTcpConnection: %v", hostPort, cerr)
		}
	})
}
