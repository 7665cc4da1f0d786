package workerman

import (
	"fmt"
	"net"
	"strconv"
)

// SocketOptions are the manual's socket context options of a listening
// worker (new Worker($address, ['socket' => [...]])), besides backlog and
// so_reuseport, which are Worker.Backlog and Worker.ReusePort. The zero
// value is Workerman's behaviour. They apply wherever the worker's socket
// is opened: by the master for the worker's processes, in a process for an
// inner worker, and in SingleProcess mode.
type SocketOptions struct {
	// IPv6Only (ipv6_v6only) makes a worker listening on an IPv6 address
	// accept IPv6 clients only. By default a worker on "::" (the manual's
	// ":::port") accepts IPv4 clients too.
	IPv6Only bool
	// NoReuseAddr (so_reuseaddr => false) leaves SO_REUSEADDR off, so the
	// port cannot be bound while connections of an earlier listener on it
	// linger in TIME_WAIT. By default it is on.
	NoReuseAddr bool
	// Nagle (tcp_nodelay => false) keeps Nagle's algorithm on the worker's
	// accepted TCP connections, which then coalesce small writes. By
	// default TCP_NODELAY is set on them, as Workerman does, so each Send
	// goes out at once.
	Nagle bool
	// Broadcast (so_broadcast) lets a UDP worker send datagrams to
	// broadcast addresses.
	Broadcast bool
	// BindTo (bindto) is the local "ip:port", "ip" or "[ipv6]:port" the
	// socket binds to instead of the host (and, when it has one, the
	// port) of the worker's address: to choose the network card a worker
	// listens on apart from the address its protocol is named in.
	BindTo string
}

// applyBindTo returns e with the host and port of BindTo, if set.
func (o *SocketOptions) applyBindTo(e endpoint) (endpoint, error) {
	if o.BindTo == "" || e.network == "unix" {
		return e, nil
	}
	host, port, err := net.SplitHostPort(o.BindTo)
	if err != nil {
		// No port: the whole value is the host.
		host, port = o.BindTo, ""
		if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
			host = host[1 : len(host)-1]
		}
	}
	if net.ParseIP(host) == nil {
		return e, fmt.Errorf("workerman: socket option BindTo %q: want an IP address, optionally with a port", o.BindTo)
	}
	e.host = host
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 {
			return e, fmt.Errorf("workerman: socket option BindTo %q: bad port", o.BindTo)
		}
		e.port = n
	}
	return e, nil
}
