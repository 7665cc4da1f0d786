package workerman

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"os"
	"sync"
	"time"

	"github.com/workerman-go/workerman/internal/counters"
)

// TLSHandshakeTimeout bounds the TLS handshake of an accepted connection.
// A client that has not finished it by then is disconnected without
// OnConnect or OnClose.
var TLSHandshakeTimeout = 10 * time.Second

// SSLOptions are the manual's "ssl" context options, turned into a
// *tls.Config by ServerConfig (for Worker.TLSConfig) or ClientConfig (for
// DialOptions.TLSConfig):
//
//	w := workerman.NewWorker("websocket://0.0.0.0:4431")
//	w.Transport = "ssl"
//	w.TLSConfig, err = workerman.SSLOptions{
//		LocalCert: "/etc/ssl/server.pem", // local_cert
//		LocalPK:   "/etc/ssl/server.key", // local_pk
//	}.ServerConfig()
//
// Certificates and keys are PEM files. A key may be encrypted with a
// passphrase, either as PKCS#8 ("ENCRYPTED PRIVATE KEY", what openssl
// writes today, with PBKDF2 and AES or 3DES) or in the older OpenSSL form
// ("Proc-Type: 4,ENCRYPTED").
//
// The zero value of every field is the safe choice, so unlike PHP, where
// verify_peer defaults to true on clients, a client verifies unless
// InsecureSkipVerify is set.
//
// TLS runs on the standard crypto/tls, driven by the event loop: the
// socket is watched by the loop like a plain one, crypto/tls decrypts what
// the loop read and its records are written on the connection's own send
// path. Callbacks, send-buffer accounting (SendBufferLen, OnBufferFull,
// OnBufferDrain, dropped sends), PauseRecv and Close behave as on a plain
// connection; SendBufferLen counts the sealed records waiting for the
// socket, BytesRead and BytesWritten the plaintext. The handshake runs on
// a goroutine of its own, fed by the loop; once it is done, an idle TLS
// connection holds no goroutine, only crypto/tls's own state. bench/tls
// measures the cost against crypto/tls over net. Plain connections never
// take this path.
type SSLOptions struct {
	// LocalCert is the certificate file (local_cert); it may also hold the
	// private key and intermediate certificates.
	LocalCert string
	// LocalPK is the private key file (local_pk) when LocalCert does not
	// hold the key.
	LocalPK string
	// Passphrase decrypts an encrypted private key (passphrase).
	Passphrase string
	// CAFile holds the CA certificates that verify the peer (cafile). A
	// client without it uses the system's roots.
	CAFile string
	// VerifyPeer makes a server ask clients for a certificate and refuse
	// those without one signed by CAFile (verify_peer on a server).
	VerifyPeer bool
	// InsecureSkipVerify makes a client accept any server certificate
	// (verify_peer false on a client). Use it for tests only.
	InsecureSkipVerify bool
	// AllowSelfSigned accepts a peer certificate signed by its own key
	// (allow_self_signed); its validity dates and, on a client, the host
	// name are still checked.
	AllowSelfSigned bool
	// PeerName is the name a client expects in the server's certificate
	// (peer_name); empty means the host of the address.
	PeerName string
	// SkipPeerNameCheck accepts a server certificate for another name
	// (verify_peer_name false) while still checking who signed it.
	SkipPeerNameCheck bool
}

// ServerConfig returns a configuration for a TLS server. The certificate
// and key files are read now, so mistakes show at once, and again at a
// handshake after either file changed, so a renewed certificate is served
// without a restart.
func (o SSLOptions) ServerConfig() (*tls.Config, error) {
	if o.LocalCert == "" {
		return nil, errors.New("workerman: ssl: LocalCert (local_cert) is required for a server")
	}
	r := &certReloader{certFile: o.LocalCert, keyFile: o.LocalPK, pass: o.Passphrase}
	if err := r.reload(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return r.get() },
	}
	if o.VerifyPeer {
		pool, err := o.caPool()
		if err != nil {
			return nil, err
		}
		if o.AllowSelfSigned {
			cfg.ClientAuth = tls.RequireAnyClientCert
			cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
				return verifyChain(raw, pool, "", true, x509.ExtKeyUsageClientAuth)
			}
		} else {
			if pool == nil {
				return nil, errors.New("workerman: ssl: VerifyPeer on a server needs CAFile (cafile)")
			}
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
			cfg.ClientCAs = pool
		}
	}
	return cfg, nil
}

// ClientConfig returns a configuration for outbound TLS connections
// (DialOptions.TLSConfig). ServerName is left empty unless PeerName is set;
// the connection then uses the host of its address.
func (o SSLOptions) ClientConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.PeerName}
	pool, err := o.caPool()
	if err != nil {
		return nil, err
	}
	cfg.RootCAs = pool
	if o.LocalCert != "" {
		cert, err := loadKeyPair(o.LocalCert, o.LocalPK, o.Passphrase)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	switch {
	case o.InsecureSkipVerify:
		cfg.InsecureSkipVerify = true
	case o.AllowSelfSigned || o.SkipPeerNameCheck:
		// Go's verifier knows neither exception: verify here instead.
		cfg.InsecureSkipVerify = true
		selfSigned, skipName := o.AllowSelfSigned, o.SkipPeerNameCheck
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			raw := make([][]byte, len(cs.PeerCertificates))
			for i, c := range cs.PeerCertificates {
				raw[i] = c.Raw
			}
			name := cs.ServerName
			if skipName {
				name = ""
			}
			return verifyChain(raw, pool, name, selfSigned, x509.ExtKeyUsageServerAuth)
		}
	}
	return cfg, nil
}

// caPool reads CAFile; nil (the system's roots) when it is not set.
func (o SSLOptions) caPool() (*x509.CertPool, error) {
	if o.CAFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(o.CAFile)
	if err != nil {
		return nil, fmt.Errorf("workerman: ssl: cafile: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("workerman: ssl: cafile %s holds no PEM certificate", o.CAFile)
	}
	return pool, nil
}

// verifyChain checks a peer's certificate chain against roots (the
// system's when nil), accepting a self-signed leaf when selfSigned is set,
// and the name unless it is empty.
func verifyChain(raw [][]byte, roots *x509.CertPool, name string, selfSigned bool, usage x509.ExtKeyUsage) error {
	if len(raw) == 0 {
		return errors.New("workerman: ssl: peer sent no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return fmt.Errorf("workerman: ssl: bad peer certificate: %w", err)
		}
		certs[i] = c
	}
	leaf := certs[0]
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		DNSName:       name,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	if err == nil {
		return nil
	}
	if !selfSigned || !bytes.Equal(leaf.RawIssuer, leaf.RawSubject) ||
		leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) != nil {
		return err
	}
	// A self-signed certificate: trusted by itself, still checked for
	// dates and name.
	now := time.Now()
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return fmt.Errorf("workerman: ssl: self-signed certificate not valid at %s", now.Format(time.RFC3339))
	}
	if name != "" {
		return leaf.VerifyHostname(name)
	}
	return nil
}

// certReloader serves a certificate and reloads it when its files change.
type certReloader struct {
	certFile, keyFile, pass string

	mu       sync.Mutex
	cert     *tls.Certificate
	stamp    [2]fileStamp
	lastFail [2]fileStamp
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) fileStamp {
	if path == "" {
		return fileStamp{}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{fi.ModTime(), fi.Size()}
}

func (r *certReloader) stamps() [2]fileStamp {
	return [2]fileStamp{stampOf(r.certFile), stampOf(r.keyFile)}
}

func (r *certReloader) reload() error {
	st := r.stamps()
	cert, err := loadKeyPair(r.certFile, r.keyFile, r.pass)
	if err != nil {
		return err
	}
	r.cert, r.stamp = &cert, st
	return nil
}

// get runs on the handshake goroutines, never on the loop.
func (r *certReloader) get() (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.stamps()
	if st != r.stamp && st != r.lastFail {
		if err := r.reload(); err != nil {
			// A half-written renewal: keep serving the old certificate and
			// try again when the files change once more.
			r.lastFail = st
			logger().Error("ssl: certificate reload failed; serving the previous one", "cert", r.certFile, "err", err)
		} else {
			logger().Info("ssl: certificate reloaded", "cert", r.certFile)
		}
	}
	return r.cert, nil
}

// loadKeyPair reads a PEM certificate (chain) and its private key, which
// may be in the certificate file and may be encrypted.
func loadKeyPair(certFile, keyFile, pass string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("workerman: ssl: local_cert: %w", err)
	}
	keyPEM := certPEM
	if keyFile != "" {
		if keyPEM, err = os.ReadFile(keyFile); err != nil {
			return tls.Certificate{}, fmt.Errorf("workerman: ssl: local_pk: %w", err)
		}
	}
	keyPEM, err = decryptKeyPEM(keyPEM, pass)
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("workerman: ssl: %s: %w", certFile, err)
	}
	return cert, nil
}

// decryptKeyPEM returns PEM data whose private key is decrypted with pass;
// blocks other than an encrypted key are dropped.
func decryptKeyPEM(data []byte, pass string) ([]byte, error) {
	var out bytes.Buffer
	rest := data
	found := false
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch {
		case blk.Type == "ENCRYPTED PRIVATE KEY":
			if pass == "" {
				return nil, errors.New("workerman: ssl: the private key is encrypted; set Passphrase (passphrase)")
			}
			der, err := decryptPKCS8(blk.Bytes, []byte(pass))
			if err != nil {
				return nil, err
			}
			pem.Encode(&out, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
			found = true
		//lint:ignore SA1019 legacy OpenSSL-encrypted keys (RFC 1423) are still in use; SSLOptions must load them
		case x509.IsEncryptedPEMBlock(blk):
			if pass == "" {
				return nil, errors.New("workerman: ssl: the private key is encrypted; set Passphrase (passphrase)")
			}
			//lint:ignore SA1019 see IsEncryptedPEMBlock above
			der, err := x509.DecryptPEMBlock(blk, []byte(pass))
			if err != nil {
				return nil, fmt.Errorf("workerman: ssl: cannot decrypt the private key (wrong passphrase?): %w", err)
			}
			pem.Encode(&out, &pem.Block{Type: blk.Type, Bytes: der})
			found = true
		case blk.Type == "PRIVATE KEY" || len(blk.Type) > 12 && blk.Type[len(blk.Type)-12:] == " PRIVATE KEY":
			pem.Encode(&out, blk)
			found = true
		}
	}
	if !found {
		return data, nil // let tls.X509KeyPair say what is missing
	}
	return out.Bytes(), nil
}

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
)

type encryptedPrivateKeyInfo struct {
	Algo pkix.AlgorithmIdentifier
	Data []byte
}

type pbes2Params struct {
	KDF    pkix.AlgorithmIdentifier
	Scheme pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt      []byte
	Iter      int
	KeyLength int                      `asn1:"optional"`
	PRF       pkix.AlgorithmIdentifier `asn1:"optional"`
}

// maxPBKDF2Iter bounds the work a key file can ask for.
const maxPBKDF2Iter = 10_000_000

// decryptPKCS8 decrypts a PKCS#8 EncryptedPrivateKeyInfo protected with
// PBES2 (PBKDF2 with HMAC-SHA1/224/256/384/512, AES-CBC or 3DES-CBC) and
// returns the PKCS#8 PrivateKeyInfo DER.
func decryptPKCS8(der, pass []byte) ([]byte, error) {
	return decryptPKCS8Limit(der, pass, maxPBKDF2Iter)
}

func decryptPKCS8Limit(der, pass []byte, maxIter int) ([]byte, error) {
	bad := func(what string) error {
		return fmt.Errorf("workerman: ssl: encrypted private key: %s", what)
	}
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) > 0 {
		return nil, bad("malformed")
	}
	if !info.Algo.Algorithm.Equal(oidPBES2) {
		return nil, bad(fmt.Sprintf("unsupported scheme %v (PBES2 only)", info.Algo.Algorithm))
	}
	var params pbes2Params
	if rest, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &params); err != nil || len(rest) > 0 {
		return nil, bad("malformed PBES2 parameters")
	}
	if !params.KDF.Algorithm.Equal(oidPBKDF2) {
		return nil, bad(fmt.Sprintf("unsupported key derivation %v (PBKDF2 only)", params.KDF.Algorithm))
	}
	var kdf pbkdf2Params
	if rest, err := asn1.Unmarshal(params.KDF.Parameters.FullBytes, &kdf); err != nil || len(rest) > 0 {
		return nil, bad("malformed PBKDF2 parameters")
	}
	if kdf.Iter < 1 || kdf.Iter > maxIter {
		return nil, bad(fmt.Sprintf("PBKDF2 iteration count %d out of range", kdf.Iter))
	}
	var prf func() hash.Hash
	switch a := kdf.PRF.Algorithm; {
	case len(a) == 0 || a.Equal(oidHMACSHA1):
		prf = sha1.New
	case a.Equal(oidHMACSHA224):
		prf = sha256.New224
	case a.Equal(oidHMACSHA256):
		prf = sha256.New
	case a.Equal(oidHMACSHA384):
		prf = sha512.New384
	case a.Equal(oidHMACSHA512):
		prf = sha512.New
	default:
		return nil, bad(fmt.Sprintf("unsupported PBKDF2 hash %v", a))
	}
	var keyLen int
	var newBlock func([]byte) (cipher.Block, error)
	switch a := params.Scheme.Algorithm; {
	case a.Equal(oidAES128CBC):
		keyLen, newBlock = 16, aes.NewCipher
	case a.Equal(oidAES192CBC):
		keyLen, newBlock = 24, aes.NewCipher
	case a.Equal(oidAES256CBC):
		keyLen, newBlock = 32, aes.NewCipher
	case a.Equal(oidDESEDE3CBC):
		keyLen, newBlock = 24, des.NewTripleDESCipher
	default:
		return nil, bad(fmt.Sprintf("unsupported cipher %v", a))
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != keyLen {
		return nil, bad("key length does not match the cipher")
	}
	var iv []byte
	if rest, err := asn1.Unmarshal(params.Scheme.Parameters.FullBytes, &iv); err != nil || len(rest) > 0 {
		return nil, bad("malformed cipher parameters")
	}
	key, err := pbkdf2.Key(prf, string(pass), kdf.Salt, kdf.Iter, keyLen)
	if err != nil {
		return nil, bad(err.Error())
	}
	block, err := newBlock(key)
	if err != nil {
		return nil, bad(err.Error())
	}
	bs := block.BlockSize()
	if len(iv) != bs {
		return nil, bad("wrong IV length")
	}
	if len(info.Data) == 0 || len(info.Data)%bs != 0 {
		return nil, bad("data is not a whole number of blocks")
	}
	plain := make([]byte, len(info.Data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, info.Data)
	pad := int(plain[len(plain)-1])
	if pad == 0 || pad > bs {
		return nil, bad("wrong passphrase")
	}
	for _, p := range plain[len(plain)-pad:] {
		if int(p) != pad {
			return nil, bad("wrong passphrase")
		}
	}
	plain = plain[:len(plain)-pad]
	if _, err := x509.ParsePKCS8PrivateKey(plain); err != nil {
		return nil, bad("wrong passphrase")
	}
	return plain, nil
}

// serveTLSBridged starts the server side of a bridged TLS connection: the
// handshake runs on its own goroutine, and the connection joins the worker when it is
// done.
func (w *Worker) serveTLSBridged(c *Connection) {
	c.transport = "ssl"
	raw := newFDConn(c, c.fd)
	tc := tls.Server(raw, w.TLSConfig)
	b := newConnBridge(c, raw, tc)
	c.ext = &connExt{bridge: b}
	c.status = StatusConnecting
	w.handshakeBridged(c, tc, b)
}

// handshakeBridged runs the server handshake of a bridged TLS connection
// on a goroutine of its own; the connection joins the worker when it is
// done.
func (w *Worker) handshakeBridged(c *Connection, tc *tls.Conn, b *connBridge) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), TLSHandshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		c.loop.Post(func() {
			if b.closed {
				return
			}
			if err != nil {
				counters.P.TLSFail++
			} else {
				counters.P.TLSOK++
			}
			if err != nil || w.stopped {
				if err != nil {
					logger().Debug("ssl handshake failed", "worker", w.Name, "remote", c.RemoteAddress(), "err", err)
				}
				b.close()
				c.status, c.fd = StatusClosed, -1
				return
			}
			c.status = StatusEstablished
			b.start()
			w.connected(c)
		})
	}()
}

// startClientTLSBridged starts the client side of a bridged TLS connection after its TCP
// connect succeeded; the connection is established when the handshake is.
func (c *Connection) startClientTLSBridged() {
	a := c.ext.async
	cfg := c.clientTLSConfig()
	raw := newFDConn(c, c.fd)
	tc := tls.Client(raw, cfg)
	b := newConnBridge(c, raw, tc)
	c.ext.bridge = b
	gen := a.gen
	timeout := a.opts.ConnectTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		c.loop.Post(func() {
			if b.closed || c.ext.bridge != b || a.gen != gen || c.status != StatusConnecting {
				return
			}
			if err != nil {
				c.connectFailed(fmt.Errorf("ssl handshake: %w", err))
				return
			}
			b.start()
			c.established()
			b.kick()
		})
	}()
}

// clientTLSConfig takes an outbound connection whose TCP connect succeeded
// off the loop's watch list and returns the configuration of its TLS
// client: the connection's own, or TLS 1.2 and up, named for the host dialled.
func (c *Connection) clientTLSConfig() *tls.Config {
	a := c.ext.async
	if c.loop.Watched(c.fd) {
		c.loop.RemoveHandler(c.fd)
	}
	c.events = 0
	var cfg *tls.Config
	if a.opts.TLSConfig != nil {
		cfg = a.opts.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = a.ep.host
	}
	return cfg
}
