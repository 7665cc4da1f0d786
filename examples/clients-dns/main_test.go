package main

import (
	"bufio"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman/internal/testserver"
	"github.com/workerman-go/workerman/internal/wmtest"
)

func ask(t *testing.T, addr string, names ...string) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(strings.Join(names, "\n") + "\n"))
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	var out []string
	for range names {
		s, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		out = append(out, strings.TrimSuffix(s, "\n"))
	}
	return out
}

func TestResolve(t *testing.T) {
	d := testserver.StartDnsmasq(t, "db.test,10.0.0.7,fd00::7", "cache.test,10.0.0.8")
	addr := wmtest.Serve(t, newServer("127.0.0.1:0", d.Addr))
	for _, tc := range []struct{ name, want string }{
		{"db.test", "10.0.0.7 fd00::7"},
		{"cache.test", "10.0.0.8"},
	} {
		got := ask(t, addr, tc.name)[0]
		f := strings.Fields(got)
		sort.Strings(f)
		if strings.Join(f, " ") != tc.want {
			t.Fatalf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := ask(t, addr, "nope.test")[0]; !strings.HasPrefix(got, "error: ") || !strings.Contains(got, "no such host") {
		t.Fatalf("unknown name: %q", got)
	}
}

// A DNS server that never answers: every lookup ends with a timeout error,
// and one client's many lookups are all answered.
func TestResolveTimeout(t *testing.T) {
	// A UDP socket that never answers, and a TCP listener on the same
	// port that never answers either. The TCP port may be taken by
	// another program meanwhile: then try another port.
	var mute net.PacketConn
	for try := 0; mute == nil; try++ {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ml, err := net.Listen("tcp", u.LocalAddr().String())
		if err != nil {
			u.Close()
			if try < 20 {
				continue
			}
			t.Fatal(err)
		}
		defer u.Close()
		defer ml.Close()
		mute = u
	}
	addr := wmtest.Serve(t, newServer("127.0.0.1:0", mute.LocalAddr().String()))
	out := ask(t, addr, "a.test", "b.test", "c.test")
	for _, got := range out {
		if !strings.HasPrefix(got, "error: ") || !strings.Contains(got, "timeout") {
			t.Fatalf("against a silent server: %q", got)
		}
	}
}
