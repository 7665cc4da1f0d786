package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// echoServer echoes on network/address and returns its port.
func echoServer(t *testing.T, network, address string) int {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Skipf("cannot listen on %s %s: %v", network, address, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// socksRequest is a CONNECT (or cmd) request for an address of type atyp.
func socksRequest(cmd, atyp byte, addr []byte, port int) []byte {
	r := []byte{5, cmd, 0, atyp}
	if atyp == atypDomain {
		r = append(r, byte(len(addr)))
	}
	r = append(r, addr...)
	return binary.BigEndian.AppendUint16(r, uint16(port))
}

// socks opens a connection to the proxy, sends greeting and request (one
// byte per write when split), and returns the connection and the reply.
func socks(t *testing.T, proxy string, greeting, req []byte, split bool) (net.Conn, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", proxy, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	send := func(b []byte) {
		if !split {
			c.Write(b)
			return
		}
		for i := range b {
			c.Write(b[i : i+1])
			time.Sleep(time.Millisecond)
		}
	}
	send(greeting)
	method := make([]byte, 2)
	if _, err := io.ReadFull(c, method); err != nil {
		t.Fatalf("method reply: %v", err)
	}
	if method[1] != methodNone {
		return c, method
	}
	send(req)
	head := make([]byte, 4)
	if _, err := io.ReadFull(c, head); err != nil {
		t.Fatalf("reply: %v", err)
	}
	n := map[byte]int{atypIPv4: 4, atypIPv6: 16}[head[3]]
	rest := make([]byte, n+2)
	if _, err := io.ReadFull(c, rest); err != nil {
		t.Fatalf("reply address: %v", err)
	}
	return c, append(head, rest...)
}

func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.Write([]byte(msg))
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
		t.Fatalf("echo through the proxy: %q %v", got, err)
	}
}

var noAuth = []byte{5, 1, methodNone}

// TestConnect: CONNECT to an IPv4 address, an IPv6 address and a domain
// name, with requests whole and split byte by byte.
func TestConnect(t *testing.T) {
	proxy := wmtest.Serve(t, newProxy("tcp://127.0.0.1:0"))
	p4 := echoServer(t, "tcp4", "127.0.0.1:0")
	for _, split := range []bool{false, true} {
		c, rep := socks(t, proxy, []byte{5, 2, 2, methodNone}, socksRequest(cmdConnect, atypIPv4, []byte{127, 0, 0, 1}, p4), split)
		if rep[1] != repSucceeded || rep[3] != atypIPv4 || !bytes.Equal(rep[4:8], []byte{127, 0, 0, 1}) || binary.BigEndian.Uint16(rep[8:]) == 0 {
			t.Fatalf("IPv4 reply % x", rep)
		}
		roundTrip(t, c, "hello over IPv4")
	}
	c, rep := socks(t, proxy, noAuth, socksRequest(cmdConnect, atypDomain, []byte("localhost"), p4), false)
	if rep[1] != repSucceeded {
		t.Fatalf("domain reply % x", rep)
	}
	roundTrip(t, c, "hello by name")

	p6 := echoServer(t, "tcp6", "[::1]:0")
	c, rep = socks(t, proxy, noAuth, socksRequest(cmdConnect, atypIPv6, net.ParseIP("::1").To16(), p6), false)
	if rep[1] != repSucceeded || rep[3] != atypIPv6 || !net.IP(rep[4:20]).Equal(net.ParseIP("::1")) {
		t.Fatalf("IPv6 reply % x", rep)
	}
	roundTrip(t, c, "hello over IPv6")
}

// TestRefusals: what the proxy does not do is answered with the RFC's
// codes.
func TestRefusals(t *testing.T) {
	proxy := wmtest.Serve(t, newProxy("tcp://127.0.0.1:0"))
	// Only username/password offered: no acceptable method.
	c, rep := socks(t, proxy, []byte{5, 1, 2}, nil, false)
	if !bytes.Equal(rep, []byte{5, methodNoAccept}) {
		t.Fatalf("no acceptable method: % x", rep)
	}
	if n, _ := c.Read(make([]byte, 1)); n != 0 {
		t.Error("connection not closed after refusing the methods")
	}
	p := echoServer(t, "tcp4", "127.0.0.1:0")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	for name, tc := range map[string]struct {
		req  []byte
		want byte
	}{
		"BIND":           {socksRequest(2, atypIPv4, []byte{127, 0, 0, 1}, p), repCommandUnsupported},
		"UDP ASSOCIATE":  {socksRequest(3, atypIPv4, []byte{127, 0, 0, 1}, p), repCommandUnsupported},
		"address type 5": {[]byte{5, cmdConnect, 0, 5, 1, 2, 3, 4, 5, 6}, repAddressUnsupported},
		"refused":        {socksRequest(cmdConnect, atypIPv4, []byte{127, 0, 0, 1}, dead), repConnectionRefused},
		"empty domain":   {socksRequest(cmdConnect, atypDomain, nil, p), repAddressUnsupported},
		"unknown domain": {socksRequest(cmdConnect, atypDomain, []byte("no-such-host.invalid"), p), repHostUnreachable},
	} {
		c, rep := socks(t, proxy, noAuth, tc.req, false)
		if rep[0] != 5 || rep[1] != tc.want {
			t.Errorf("%s: reply % x, want code %d", name, rep, tc.want)
		}
		if n, _ := c.Read(make([]byte, 1)); n != 0 {
			t.Errorf("%s: connection not closed after the failure", name)
		}
	}
}

// TestFlowControl: a target that sends much more than the buffers hold to
// a client that does not read for a while: the proxy pauses the target
// instead of queueing (or dropping) the data, and everything arrives.
func TestFlowControl(t *testing.T) {
	const size = 48 << 20
	w := newProxy("tcp://127.0.0.1:0")
	proxy := wmtest.Serve(t, w)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	want := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		h := sha256.New()
		chunk := make([]byte, 64<<10)
		for i := 0; i < size/len(chunk); i++ {
			for j := range chunk {
				chunk[j] = byte(i + j*13)
			}
			h.Write(chunk)
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
		want <- h.Sum(nil)
	}()
	c, rep := socks(t, proxy, noAuth, socksRequest(cmdConnect, atypIPv4, []byte{127, 0, 0, 1}, ln.Addr().(*net.TCPAddr).Port), false)
	if rep[1] != repSucceeded {
		t.Fatalf("reply % x", rep)
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	// Not reading: the proxy's buffer toward the client stays bounded.
	time.Sleep(time.Second)
	wmtest.Do(func() {
		for _, pc := range w.Connections {
			if n := pc.SendBufferLen(); n > 2*pc.MaxSendBufferSize {
				t.Errorf("the proxy queued %d bytes for a client that does not read", n)
			}
		}
	})
	var before int64
	wmtest.Do(func() { before = workerman.ProcessStats().SendFail })
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(c, size))
	if err != nil || n != size {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	if !bytes.Equal(h.Sum(nil), <-want) {
		t.Fatal("the data was changed on the way")
	}
	wmtest.Do(func() {
		if after := workerman.ProcessStats().SendFail; after != before {
			t.Errorf("%d sends dropped", after-before)
		}
	})
}

// FuzzParseRequest: any bytes give a bad request, an incomplete one, a
// refusal or a target that an outbound connection accepts; never a panic
// or a length past the input.
func FuzzParseRequest(f *testing.F) {
	f.Add(socksRequest(cmdConnect, atypIPv4, []byte{127, 0, 0, 1}, 80))
	f.Add(socksRequest(cmdConnect, atypIPv6, net.ParseIP("::1").To16(), 443))
	f.Add(socksRequest(cmdConnect, atypDomain, []byte("example.com"), 8080))
	f.Add(socksRequest(2, atypDomain, []byte("a/b:c"), 1))
	f.Add([]byte{5, 1, 0, 9, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		target, n, rep, bad := parseRequest(b)
		if bad || n == 0 {
			if target != "" {
				t.Fatalf("target %q without a complete request", target)
			}
			return
		}
		if n > len(b) {
			t.Fatalf("length %d past the %d bytes", n, len(b))
		}
		if rep != repSucceeded {
			if target != "" {
				t.Fatalf("target %q with refusal %d", target, rep)
			}
			return
		}
		host, _, err := net.SplitHostPort(target)
		if err != nil || host == "" {
			t.Fatalf("target %q: %v", target, err)
		}
		var cerr error
		wmtest.Do(func() {
			var c *workerman.Connection
			if c, cerr = workerman.NewAsyncTcpConnection("tcp://"+target, nil); cerr == nil {
				c.Destroy()
			}
		})
		if cerr != nil {
			t.Fatalf("target %q refused by NewAsyncTcpConnection: %v", target, cerr)
		}
	})
}
