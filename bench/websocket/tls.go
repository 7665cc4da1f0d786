package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"os"
	"time"
)

// With run -tls, every server serves wss (TLS 1.3, an ECDSA P-256
// certificate made at start) and the clients dial wss. The driver passes
// the choice to the server processes in tlsEnv.
const tlsEnv = "WSBENCH_TLS"

func useTLS() bool { return os.Getenv(tlsEnv) == "1" }

// serverTLS returns a configuration with a fresh self-signed certificate
// for 127.0.0.1.
func serverTLS() *tls.Config {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "wsbench"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// clientTLS trusts any certificate: the servers are this program's own,
// on loopback.
var clientTLS = &tls.Config{InsecureSkipVerify: true}
