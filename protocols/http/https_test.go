package http_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	nethttp "net/http"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// The manual's 创建https服务: an http:// worker with Transport "ssl".
func TestManualHTTPS(t *testing.T) {
	cert, pool := selfSigned(t)
	w := workerman.NewWorker("http://127.0.0.1:0")
	w.Transport = "ssl"
	w.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	w.OnMessage = func(c *workerman.Connection, data any) {
		r := data.(*wmhttp.Request)
		if r.Path() == "/stream" {
			c.Send(wmhttp.NewResponse(200, map[string]string{"Transfer-Encoding": "chunked"}, "a"))
			c.Send(wmhttp.Chunk("b"))
			c.Send(wmhttp.Chunk(""))
			return
		}
		c.Send("ok")
	}
	addr := wmtest.Serve(t, w)
	cl := &nethttp.Client{Timeout: 15 * time.Second, Transport: &nethttp.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, c := range []struct{ path, want string }{{"/", "ok"}, {"/stream", "ab"}, {"/", "ok"}} {
		resp, err := cl.Get("https://" + addr + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != c.want || resp.TLS == nil {
			t.Fatalf("%s: %q", c.path, b)
		}
	}
	if s := runTool(t, "curl", "-sS", "--max-time", "20", "-k", "https://"+addr+"/"); s != "ok" {
		t.Fatalf("curl: %q", s)
	}
}
