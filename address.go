package workerman

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// endpoint is a parsed listen or connect address such as
// "websocket://0.0.0.0:2000", "udp://[::1]:53" or "unix:///run/app.sock".
type endpoint struct {
	scheme  string // lower-case scheme as written
	network string // "tcp", "udp" or "unix"
	host    string // host as written (may be a name)
	port    int
	path    string // unix socket path, or the rest of a URL after host:port
}

func (e endpoint) hostPort() string { return net.JoinHostPort(e.host, strconv.Itoa(e.port)) }

// parseEndpoint splits "scheme://host:port[/path]". The host may be an IPv4
// address, a bracketed IPv6 address, Workerman's ":::port" form for all
// IPv6 and IPv4 addresses, or a name.
func parseEndpoint(s string) (endpoint, error) {
	var e endpoint
	i := strings.Index(s, "://")
	if i <= 0 {
		return e, fmt.Errorf("workerman: address %q has no scheme; write for example tcp://0.0.0.0:8686", s)
	}
	e.scheme = strings.ToLower(s[:i])
	rest := s[i+3:]
	switch e.scheme {
	case "udp":
		e.network = "udp"
	case "unix":
		e.network = "unix"
		if rest == "" {
			return e, fmt.Errorf("workerman: address %q has no socket path", s)
		}
		e.path = rest
		return e, nil
	default:
		e.network = "tcp"
	}
	from := 0
	if strings.HasPrefix(rest, "[") {
		from = max(strings.IndexByte(rest, ']'), 0)
	}
	if k := strings.IndexByte(rest[from:], '/'); k >= 0 {
		e.path = rest[from+k:]
		rest = rest[:from+k]
	}
	var host, port string
	if strings.HasPrefix(rest, "[") {
		h, p, err := net.SplitHostPort(rest)
		if err != nil {
			return e, fmt.Errorf("workerman: address %q: %v", s, err)
		}
		host, port = h, p
	} else if strings.Count(rest, ":") > 1 {
		// ":::8080" and "::1:8080": the last colon separates the port.
		k := strings.LastIndexByte(rest, ':')
		host, port = rest[:k], rest[k+1:]
		if host == "::" || host == "" {
			host = "::"
		}
		if _, err := netip.ParseAddr(host); err != nil {
			return e, fmt.Errorf("workerman: address %q: bad IPv6 host %q", s, host)
		}
	} else {
		h, p, err := net.SplitHostPort(rest)
		if err != nil {
			return e, fmt.Errorf("workerman: address %q: %v", s, err)
		}
		host, port = h, p
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return e, fmt.Errorf("workerman: address %q: bad port %q", s, port)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	e.host, e.port = host, n
	return e, nil
}

// resolve returns the IP address of the endpoint's host, looking names up
// (blocking) and preferring IPv4.
func (e endpoint) resolve() (netip.Addr, error) {
	if a, err := netip.ParseAddr(e.host); err == nil {
		return a, nil
	}
	ips, err := net.LookupIP(e.host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("workerman: resolve %q: %w", e.host, err)
	}
	var v6 netip.Addr
	for _, ip := range ips {
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			continue
		}
		if a.Unmap().Is4() {
			return a.Unmap(), nil
		}
		if !v6.IsValid() {
			v6 = a
		}
	}
	if v6.IsValid() {
		return v6, nil
	}
	return netip.Addr{}, fmt.Errorf("workerman: resolve %q: no address", e.host)
}
