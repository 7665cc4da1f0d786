// Command proxy is the manual's TCP proxy (Connection::pipe): every client
// of port 8483 gets its own connection to 127.0.0.1:80, and bytes are piped
// both ways with flow control, so a slow client slows the server down
// instead of filling memory.
//
//	go run ./examples/proxy start
//	curl -x '' http://127.0.0.1:8483/
//
// PROXY_LISTEN and PROXY_TARGET override the two addresses, for example
// PROXY_LISTEN=tcp://0.0.0.0:8443 with PROXY_TLS_CERT and PROXY_TLS_KEY set
// to serve TLS in front of a plain server.
package main

import (
	"log"
	"log/slog"
	"os"

	"github.com/workerman-go/workerman"
)

// newProxy returns a worker listening on listen that pipes each client to
// its own outbound connection to target.
func newProxy(listen, target string) *workerman.Worker {
	w := workerman.NewWorker(listen)
	w.Name = "tcp-proxy"
	w.OnConnect = func(c *workerman.Connection) {
		// An asynchronous connection to the real server.
		up, err := workerman.NewAsyncTcpConnection(target, nil)
		if err != nil {
			slog.Error("proxy target", "err", err)
			c.Close()
			return
		}
		// Client to server, and server to client. When either side closes,
		// the other is closed once what it still has to send is sent.
		c.Pipe(up)
		up.Pipe(c)
		up.Connect()
	}
	return w
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	w := newProxy(env("PROXY_LISTEN", "tcp://0.0.0.0:8483"), env("PROXY_TARGET", "tcp://127.0.0.1:80"))
	w.Count = 4
	if cert := os.Getenv("PROXY_TLS_CERT"); cert != "" {
		cfg, err := workerman.SSLOptions{LocalCert: cert, LocalPK: os.Getenv("PROXY_TLS_KEY")}.ServerConfig()
		if err != nil {
			log.Fatal(err)
		}
		w.Transport = "ssl"
		w.TLSConfig = cfg
	}
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
