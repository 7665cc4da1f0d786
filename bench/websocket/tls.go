package main

import (
	"crypto/tls"
	"os"

	"github.com/workerman-go/workerman/internal/testcert"
)

// With run -tls, every server serves wss (TLS 1.3, an ECDSA P-256
// certificate made at start) and the clients dial wss. The driver passes
// the choice to the server processes in tlsEnv.
const tlsEnv = "WSBENCH_TLS"

func useTLS() bool { return os.Getenv(tlsEnv) == "1" }

// serverTLS returns a configuration with a fresh self-signed certificate
// for 127.0.0.1.
func serverTLS() *tls.Config {
	dir, err := os.MkdirTemp("", "wsbench-cert")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	pair, err := testcert.SelfSigned(dir, "wsbench", "127.0.0.1")
	if err != nil {
		panic(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair.TLS}}
}

// clientTLS trusts any certificate: the servers are this program's own,
// on loopback.
var clientTLS = &tls.Config{InsecureSkipVerify: true}
