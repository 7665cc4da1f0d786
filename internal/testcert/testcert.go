// Package testcert makes certificates for tests at run time: a private test
// CA and certificates it signs for 127.0.0.1, ::1 and localhost, written as
// PEM files the way a deployment keeps them.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CA is a test certificate authority.
type CA struct {
	// Cert is the CA certificate.
	Cert *x509.Certificate
	// Key is the CA's private key.
	Key *ecdsa.PrivateKey
	// Pool holds Cert only, for tls.Config RootCAs or ClientCAs.
	Pool *x509.CertPool
	// File is the CA certificate as a PEM file.
	File string

	dir string
}

// Pair is a certificate with its key, in memory and as PEM files.
type Pair struct {
	// TLS is the certificate and key for tls.Config.Certificates.
	TLS tls.Certificate
	// Leaf is the parsed certificate.
	Leaf *x509.Certificate
	// CertFile is the certificate (PEM).
	CertFile string
	// KeyFile is the private key (PEM, unencrypted PKCS#8).
	KeyFile string
	// KeyDER is the private key in PKCS#8 DER form.
	KeyDER []byte
}

// NewCA creates a CA whose files live in dir.
func NewCA(dir string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "workerman test CA", Organization: []string{"workerman test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca := &CA{Cert: cert, Key: key, Pool: x509.NewCertPool(), dir: dir}
	ca.Pool.AddCert(cert)
	ca.File = filepath.Join(dir, "ca.pem")
	if err := writePEM(ca.File, "CERTIFICATE", der); err != nil {
		return nil, err
	}
	return ca, nil
}

// Server issues a server certificate for hosts (IP addresses or names;
// 127.0.0.1, ::1 and localhost when none are given), written as
// name.pem and name.key.
func (ca *CA) Server(name string, hosts ...string) (*Pair, error) {
	return ca.issue(name, hosts, x509.ExtKeyUsageServerAuth)
}

// Client issues a client certificate, written as name.pem and name.key.
func (ca *CA) Client(name string) (*Pair, error) {
	return ca.issue(name, []string{"client"}, x509.ExtKeyUsageClientAuth)
}

func (ca *CA) issue(name string, hosts []string, usage x509.ExtKeyUsage) (*Pair, error) {
	key, tmpl, err := newLeaf(hosts, x509.KeyUsageDigitalSignature, usage)
	if err != nil {
		return nil, err
	}
	tmpl.Subject.Organization = []string{"workerman test"}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, err
	}
	return makePair(ca.dir, name, der, key)
}

// SelfSigned creates a certificate signed by its own key (no CA), for
// hosts, written as name.pem and name.key in dir.
func SelfSigned(dir, name string, hosts ...string) (*Pair, error) {
	key, tmpl, err := newLeaf(hosts, x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign, x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	tmpl.BasicConstraintsValid = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return makePair(dir, name, der, key)
}

// newLeaf returns a new key and the template of a certificate for hosts
// (127.0.0.1, ::1 and localhost when none are given), named after the
// first, valid from an hour ago for a day.
func newLeaf(hosts []string, usage x509.KeyUsage, ext x509.ExtKeyUsage) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1", "::1", "localhost"}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     usage,
		ExtKeyUsage:  []x509.ExtKeyUsage{ext},
	}
	addHosts(tmpl, hosts)
	return key, tmpl, nil
}

func addHosts(tmpl *x509.Certificate, hosts []string) {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
}

func makePair(dir, name string, der []byte, key *ecdsa.PrivateKey) (*Pair, error) {
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	p := &Pair{
		TLS:      tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		Leaf:     leaf,
		CertFile: filepath.Join(dir, name+".pem"),
		KeyFile:  filepath.Join(dir, name+".key"),
		KeyDER:   kder,
	}
	if err := writePEM(p.CertFile, "CERTIFICATE", der); err != nil {
		return nil, err
	}
	if err := writePEM(p.KeyFile, "PRIVATE KEY", kder); err != nil {
		return nil, err
	}
	return p, nil
}

// CombinedFile writes the certificate followed by its key into one PEM file
// (the manual's local_cert holding both) and returns its path.
func (p *Pair) CombinedFile(path string) (string, error) {
	cert, err := os.ReadFile(p.CertFile)
	if err != nil {
		return "", err
	}
	key, err := os.ReadFile(p.KeyFile)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, append(cert, key...), 0o600); err != nil {
		return "", err
	}
	return path, nil
}

func writePEM(path, typ string, der []byte) error {
	b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("testcert: %w", err)
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
