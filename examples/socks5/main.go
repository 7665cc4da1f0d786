// Command socks5 is a SOCKS5 proxy (RFC 1928), the Go form of the
// manual's "workerman作为socks5代理": no authentication, the CONNECT
// command, and targets given as IPv4 or IPv6 addresses or as domain
// names (resolved by the proxy). Once a target is connected the client
// and the target are joined with Pipe, whose flow control pauses the
// faster side while the slower one catches up.
//
//	go run ./examples/socks5 start
//	curl --socks5-hostname 127.0.0.1:1080 http://example.com/
//
// SOCKS5_LISTEN overrides the address. The proxy has no access control:
// do not expose it to the Internet as it is.
package main

import (
	"encoding/binary"
	"log"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/workerman-go/workerman"
)

// Protocol constants of RFC 1928.
const (
	version5       = 0x05
	methodNone     = 0x00 // no authentication
	methodNoAccept = 0xff // no acceptable method
	cmdConnect     = 0x01
	atypIPv4       = 0x01
	atypDomain     = 0x03
	atypIPv6       = 0x04

	repSucceeded          = 0x00
	repGeneralFailure     = 0x01
	repHostUnreachable    = 0x04
	repConnectionRefused  = 0x05
	repCommandUnsupported = 0x07
	repAddressUnsupported = 0x08
)

// session is the state of one client before its request is complete.
type session struct {
	buf     []byte
	greeted bool
}

// newProxy returns the proxy worker listening on listen.
func newProxy(listen string) *workerman.Worker {
	w := workerman.NewWorker(listen)
	w.Name = "socks5"
	w.OnConnect = func(c *workerman.Connection) { c.UserData = &session{} }
	w.OnMessage = func(c *workerman.Connection, data any) {
		s := c.UserData.(*session)
		s.buf = append(s.buf, data.([]byte)...)
		if !s.greeted {
			if !greet(c, s) {
				return
			}
		}
		request(c, s)
	}
	return w
}

// greet handles VER NMETHODS METHODS. It reports whether the greeting is
// complete and accepted.
func greet(c *workerman.Connection, s *session) bool {
	if len(s.buf) < 2 {
		return false
	}
	if s.buf[0] != version5 {
		c.Destroy() // not SOCKS5: nothing sensible to answer
		return false
	}
	n := int(s.buf[1])
	if len(s.buf) < 2+n {
		return false
	}
	methods := s.buf[2 : 2+n]
	s.buf = s.buf[2+n:]
	for _, m := range methods {
		if m == methodNone {
			s.greeted = true
			c.Send([]byte{version5, methodNone})
			return true
		}
	}
	c.Close([]byte{version5, methodNoAccept})
	return false
}

// request handles VER CMD RSV ATYP DST.ADDR DST.PORT once it is complete.
func request(c *workerman.Connection, s *session) {
	target, n, rep, bad := parseRequest(s.buf)
	switch {
	case bad:
		c.Destroy() // not SOCKS5: nothing sensible to answer
	case n == 0:
		// Incomplete: wait for more.
	case rep != repSucceeded:
		c.Close(replyFor(rep, nil))
	default:
		rest := s.buf[n:]
		s.buf = nil
		connect(c, target, rest)
	}
}

// parseRequest reads the request at the start of b. bad reports bytes
// that are no SOCKS5 request; n is 0 while the request is incomplete, and
// else its length. A complete request gives the "host:port" to connect
// to, or a reply code other than repSucceeded when it cannot be served.
func parseRequest(b []byte) (target string, n int, rep byte, bad bool) {
	if len(b) > 0 && b[0] != version5 {
		return "", 0, 0, true
	}
	if len(b) < 5 {
		return "", 0, 0, false
	}
	var host string
	switch b[3] {
	case atypIPv4:
		n = 4 + 4 + 2
		if len(b) < n {
			return "", 0, 0, false
		}
		host = netip.AddrFrom4([4]byte(b[4:8])).String()
	case atypIPv6:
		n = 4 + 16 + 2
		if len(b) < n {
			return "", 0, 0, false
		}
		host = netip.AddrFrom16([16]byte(b[4:20])).String()
	case atypDomain:
		n = 4 + 1 + int(b[4]) + 2
		if len(b) < n {
			return "", 0, 0, false
		}
		host = string(b[5 : 5+int(b[4])])
		if !validDomain(host) {
			return "", n, repAddressUnsupported, false
		}
	default:
		// The length of the address is unknown: the request cannot be
		// skipped, only refused.
		return "", len(b), repAddressUnsupported, false
	}
	if b[1] != cmdConnect {
		return "", n, repCommandUnsupported, false
	}
	port := binary.BigEndian.Uint16(b[n-2 : n])
	return net.JoinHostPort(host, strconv.Itoa(int(port))), n, repSucceeded, false
}

// validDomain accepts host names: letters, digits, hyphens, underscores
// and dots, not empty.
func validDomain(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// connect opens the connection to the target, answers the client when
// it is up (or failed), and joins the two.
func connect(c *workerman.Connection, target string, rest []byte) {
	up, err := workerman.NewAsyncTcpConnection("tcp://"+target, nil)
	if err != nil {
		c.Close(replyFor(repGeneralFailure, nil))
		return
	}
	answered := false
	up.OnConnect = func(up *workerman.Connection) {
		answered = true
		local, _ := netip.ParseAddrPort(up.LocalAddress())
		c.Send(replyFor(repSucceeded, &local))
	}
	up.OnError = func(up *workerman.Connection, code int, msg string) {
		if !answered && code == workerman.ConnectFail {
			answered = true
			rep := byte(repHostUnreachable)
			if isRefused(msg) {
				rep = repConnectionRefused
			}
			c.Send(replyFor(rep, nil))
		}
	}
	// Client and target are joined both ways, with flow control: what the
	// client sends waits (within the send buffer, and then the client is
	// paused) until the target is connected; either side closing closes
	// the other once what it sent is delivered, and a failed connect
	// closes the client after the failure reply.
	c.Pipe(up)
	up.Pipe(c)
	if len(rest) > 0 {
		up.Send(rest)
	}
	up.Connect()
}

func isRefused(msg string) bool {
	return strings.Contains(msg, "connection refused")
}

// replyFor is a reply with the bound address, or 0.0.0.0:0.
func replyFor(rep byte, bound *netip.AddrPort) []byte {
	r := []byte{version5, rep, 0}
	if bound == nil || !bound.IsValid() {
		return append(r, atypIPv4, 0, 0, 0, 0, 0, 0)
	}
	ip := bound.Addr().Unmap()
	if ip.Is4() {
		a := ip.As4()
		r = append(append(r, atypIPv4), a[:]...)
	} else {
		a := ip.As16()
		r = append(append(r, atypIPv6), a[:]...)
	}
	return binary.BigEndian.AppendUint16(r, bound.Port())
}

func main() {
	listen := "tcp://0.0.0.0:1080"
	if v := os.Getenv("SOCKS5_LISTEN"); v != "" {
		listen = v
	}
	w := newProxy(listen)
	w.Count = 4
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
