package http_test

import (
	"testing"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/counters"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

var benchRequest = []byte("GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n")

// BenchmarkHelloKeepAlive drives Input, Decode and Encode for a hello-world
// keep-alive request on a connection that is never written to: the cost
// of the protocol itself per request, without and with the Prometheus
// counters (MetricsAddress) the process keeps.
func BenchmarkHelloKeepAlive(b *testing.B) {
	b.Run("metrics=off", benchHello)
	b.Run("metrics=on", func(b *testing.B) {
		counters.On = true
		defer func() { counters.On = false }()
		benchHello(b)
	})
}

func benchHello(b *testing.B) {
	p := &wmhttp.Protocol{}
	c := &workerman.Connection{MaxPackageSize: workerman.DefaultMaxPackageSize}
	dst := make([]byte, 0, 4096)
	var err error
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRequest)))
	// Protocol methods run on the event loop, as in a server.
	wmDoB(func() {
		p.OnConnectionOpen(c)
		for b.Loop() {
			n, _ := p.Input(benchRequest, c)
			msg, _ := p.Decode(benchRequest[:n], c)
			if _, ok := msg.(*wmhttp.Request); !ok {
				b.Fatal("no request")
			}
			dst, err = p.Encode(dst[:0], "Hello, World!", c)
			if err != nil {
				b.Fatal(err)
			}
		}
		p.OnConnectionClose(c)
	})
}

// BenchmarkParseQueryHeaders adds typical accessor use to the hot path.
func BenchmarkParseQueryHeaders(b *testing.B) {
	req := []byte("GET /search?q=go&page=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html\r\nCookie: sid=abcdef; theme=dark\r\nAccept-Language: en\r\n\r\n")
	p := &wmhttp.Protocol{}
	c := &workerman.Connection{MaxPackageSize: workerman.DefaultMaxPackageSize}
	dst := make([]byte, 0, 4096)
	b.ReportAllocs()
	wmDoB(func() {
		p.OnConnectionOpen(c)
		for b.Loop() {
			n, _ := p.Input(req, c)
			msg, _ := p.Decode(req[:n], c)
			r := msg.(*wmhttp.Request)
			if r.Get("q") != "go" || r.Header("accept-language") != "en" || r.Cookie("theme") != "dark" {
				b.Fatal("bad parse")
			}
			dst, _ = p.Encode(dst[:0], "ok", c)
		}
		p.OnConnectionClose(c)
	})
}
