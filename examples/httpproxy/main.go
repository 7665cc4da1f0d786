// Command httpproxy is an HTTP forward proxy, the Go form of the manual's
// "workerman作为http代理": browsers and tools configured with it as their
// proxy reach plain http:// sites through it (absolute-form requests,
// "GET http://host/path HTTP/1.1") and https:// sites through a CONNECT
// tunnel. Each client connection is piped to its own connection to the
// site with Pipe's flow control, so a slow side slows the other down
// instead of filling memory.
//
//	go run ./examples/httpproxy start
//	curl -x http://127.0.0.1:8080 http://example.com/
//	curl -x http://127.0.0.1:8080 https://example.com/
//
// HTTPPROXY_LISTEN overrides the address. The proxy has no access
// control: do not expose it to the Internet as it is.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/workerman-go/workerman"
)

// maxHead bounds the request head the proxy buffers before forwarding.
const maxHead = 64 << 10

// newProxy returns the proxy worker listening on listen.
func newProxy(listen string) *workerman.Worker {
	w := workerman.NewWorker(listen)
	w.Name = "http-proxy"
	w.OnMessage = func(c *workerman.Connection, data any) {
		// Collect the request head; Pipe takes over once it is complete.
		head, _ := c.UserData.([]byte)
		head = append(head, data.([]byte)...)
		end := bytes.Index(head, []byte("\r\n\r\n"))
		if end < 0 {
			if len(head) > maxHead {
				c.Close("HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
				return
			}
			c.UserData = head
			return
		}
		c.UserData = nil
		forward(c, head[:end+4], head[end+4:])
	}
	return w
}

// forward opens the connection the request head asks for and pipes the
// client to it. rest is what the client sent after the head.
func forward(c *workerman.Connection, head, rest []byte) {
	tunnel, hostPort, first, err := route(head)
	if err != nil {
		c.Close(reply(400, err.Error()))
		return
	}
	up, err := workerman.NewAsyncTcpConnection("tcp://"+hostPort, nil)
	if err != nil {
		c.Close(reply(400, err.Error()))
		return
	}
	connected := false
	up.OnConnect = func(up *workerman.Connection) {
		connected = true
		if tunnel {
			c.Send("HTTP/1.1 200 Connection Established\r\n\r\n")
		}
	}
	up.OnError = func(up *workerman.Connection, code int, msg string) {
		if !connected && code == workerman.ConnectFail {
			c.Send(reply(502, msg))
		}
	}
	// Client to site and site to client; either side closing closes the
	// other once its buffer is sent.
	c.Pipe(up)
	up.Pipe(c)
	if len(first) > 0 {
		up.Send(first)
	}
	if len(rest) > 0 {
		up.Send(rest)
	}
	up.Connect()
}

// route reads a request head: whether it asks for a CONNECT tunnel, the
// "host:port" to connect to, and for an absolute-form request the head to
// send the site first. An error says why the request is refused.
func route(head []byte) (tunnel bool, hostPort string, first []byte, err error) {
	line, _, _ := bytes.Cut(head, []byte("\r\n"))
	f := strings.Fields(string(line))
	if len(f) != 3 || !strings.HasPrefix(f[2], "HTTP/1.") {
		return false, "", nil, errors.New("bad request line")
	}
	method, target := f[0], f[1]
	if method == "CONNECT" {
		// CONNECT host:port: a tunnel, whatever goes through it.
		if err := checkHostPort(target); err != nil {
			return false, "", nil, fmt.Errorf("CONNECT needs host:port: %v", err)
		}
		return true, target, nil, nil
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return false, "", nil, errors.New("a proxy request names an http:// URL")
	}
	hostPort = u.Host
	if u.Port() == "" {
		hostPort = net.JoinHostPort(u.Hostname(), "80")
	}
	if err := checkHostPort(hostPort); err != nil {
		return false, "", nil, err
	}
	return false, hostPort, originForm(method, u, f[2], head), nil
}

// checkHostPort accepts "host:port" with an IP address or a host name and
// a port from 1 to 65535.
func checkHostPort(hp string) error {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if host == "" {
		return errors.New("no host")
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("bad host %q", host)
		}
	}
	return nil
}

// originForm rewrites an absolute-form request head for the site: the
// request line gets the path, the proxy's own headers go, and the
// connection closes after the response, since the client's next request
// on this connection may be for another site.
func originForm(method string, u *url.URL, version string, head []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s %s\r\n", method, u.RequestURI(), version)
	lines := strings.Split(string(head), "\r\n")
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		name, _, _ := strings.Cut(l, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "proxy-connection", "proxy-authorization", "connection", "keep-alive":
			continue
		}
		b.WriteString(l + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return b.Bytes()
}

// reply is a short error response that ends the connection.
func reply(code int, msg string) string {
	text := map[int]string{400: "Bad Request", 502: "Bad Gateway"}[code]
	return fmt.Sprintf("HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s\n", code, text, len(msg)+1, msg)
}

func main() {
	listen := "tcp://0.0.0.0:8080"
	if v := os.Getenv("HTTPPROXY_LISTEN"); v != "" {
		listen = v
	}
	w := newProxy(listen)
	w.Count = 4
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
