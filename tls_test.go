//go:build unix

package workerman_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/testcert"
	"github.com/workerman-go/workerman/internal/wmtest"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
	_ "github.com/workerman-go/workerman/protocols/websocket"
)

// tlsEnv is a test CA with a server certificate for 127.0.0.1/localhost.
type tlsEnv struct {
	dir    string
	ca     *testcert.CA
	server *testcert.Pair
}

func newTLSEnv(t *testing.T) *tlsEnv {
	t.Helper()
	dir := t.TempDir()
	ca, err := testcert.NewCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Server("server")
	if err != nil {
		t.Fatal(err)
	}
	return &tlsEnv{dir: dir, ca: ca, server: srv}
}

// serverConfig builds the worker's TLS config from files, as a user does.
func (e *tlsEnv) serverConfig(t *testing.T) *tls.Config {
	t.Helper()
	cfg, err := workerman.SSLOptions{LocalCert: e.server.CertFile, LocalPK: e.server.KeyFile}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (e *tlsEnv) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: e.ca.Pool, ServerName: "localhost"}
}

// serveTLS listens an ssl worker for address on the test loop.
func serveTLS(t *testing.T, e *tlsEnv, address string, setup func(w *workerman.Worker)) (*workerman.Worker, string) {
	t.Helper()
	w := workerman.NewWorker(address)
	w.Transport = "ssl"
	w.TLSConfig = e.serverConfig(t)
	if setup != nil {
		setup(w)
	}
	return w, wmtest.Serve(t, w)
}

func tlsDial(t *testing.T, addr string, cfg *tls.Config) *tls.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("tls dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		ok := false
		wmtest.Do(func() { ok = cond() })
		if ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func frameOf(body string) []byte {
	b := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(b, uint32(len(b)))
	copy(b[4:], body)
	return b
}

func TestTLSEchoProtocols(t *testing.T) {
	e := newTLSEnv(t)
	type closeRec struct {
		transport string
		local     int
	}
	for _, proto := range []string{"text", "frame", "tcp"} {
		t.Run(proto, func(t *testing.T) {
			var (
				mu      sync.Mutex
				infos   []string
				onClose = make(chan closeRec, 4)
			)
			_, addr := serveTLS(t, e, proto+"://127.0.0.1:0", func(w *workerman.Worker) {
				w.OnConnect = func(c *workerman.Connection) {
					st, ok := c.TLSConnectionState()
					mu.Lock()
					infos = append(infos, fmt.Sprintf("%s %s %v %s", c.Transport(), c.RemoteIP(), ok, tls.VersionName(st.Version)))
					mu.Unlock()
				}
				w.OnMessage = func(c *workerman.Connection, data any) {
					switch v := data.(type) {
					case string:
						c.Send("echo:" + v)
					case []byte:
						c.Send(append([]byte("echo:"), v...))
					}
				}
				w.OnClose = func(c *workerman.Connection) {
					onClose <- closeRec{c.Transport(), c.LocalPort()}
				}
			})
			c := tlsDial(t, addr, e.clientConfig())
			msgs := []string{"hello", "world", strings.Repeat("x", 100000)}
			switch proto {
			case "text":
				// Two lines in one write, one line across two writes.
				io.WriteString(c, "hello\nwor")
				io.WriteString(c, "ld\n"+msgs[2]+"\n")
				r := bufio.NewReader(c)
				for _, m := range msgs {
					line, err := r.ReadString('\n')
					if err != nil || line != "echo:"+m+"\n" {
						t.Fatalf("got %.40q %v, want echo:%.20s", line, err, m)
					}
				}
			case "frame":
				var all []byte
				for _, m := range msgs {
					all = append(all, frameOf(m)...)
				}
				c.Write(all[:7])
				c.Write(all[7:])
				for _, m := range msgs {
					want := frameOf("echo:" + m)
					got := make([]byte, len(want))
					if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
						t.Fatalf("frame echo: %v (got %d bytes)", err, len(got))
					}
				}
			case "tcp":
				io.WriteString(c, "ping")
				got := make([]byte, len("echo:ping"))
				if _, err := io.ReadFull(c, got); err != nil || string(got) != "echo:ping" {
					t.Fatalf("raw echo %q %v", got, err)
				}
			}
			c.Close()
			select {
			case rec := <-onClose:
				if rec.transport != "ssl" {
					t.Errorf("Transport() = %q, want ssl", rec.transport)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("OnClose not called after the client closed")
			}
			mu.Lock()
			defer mu.Unlock()
			if len(infos) != 1 || infos[0] != "ssl 127.0.0.1 true TLS 1.3" {
				t.Errorf("OnConnect saw %q", infos)
			}
		})
	}
}

// TestTLSOpenSSLClient talks to a text worker over TLS with the openssl
// command-line client, verifying the server against the test CA.
func TestTLSOpenSSLClient(t *testing.T) {
	openssl := wmtest.RequireTool(t, "openssl")
	e := newTLSEnv(t)
	_, addr := serveTLS(t, e, "text://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnMessage = func(c *workerman.Connection, data any) { c.Send("hi " + data.(string)) }
	})
	cmd := exec.Command(openssl, "s_client", "-connect", addr, "-CAfile", e.ca.File,
		"-verify_return_error", "-verify_ip", "127.0.0.1", "-quiet")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	io.WriteString(stdin, "openssl\n")
	lines := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- l
	}()
	select {
	case l := <-lines:
		if l != "hi openssl\n" {
			t.Fatalf("openssl got %q; stderr: %s", l, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no reply through openssl s_client; stderr: %s", stderr.String())
	}
	// -quiet ignores the end of its input: stop it.
	cmd.Process.Kill()
	cmd.Wait()
	if !strings.Contains(stderr.String(), "verify return:1") {
		t.Errorf("openssl did not verify the chain: %s", stderr.String())
	}
}

// TestTLSCloseFlushes checks that Close(data) delivers data before the TLS
// connection ends, and that the end is a clean close_notify.
func TestTLSCloseFlushes(t *testing.T) {
	e := newTLSEnv(t)
	big := strings.Repeat("z", 3<<20)
	closed := make(chan int, 2)
	_, addr := serveTLS(t, e, "text://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnMessage = func(c *workerman.Connection, data any) {
			c.Send(big)
			c.Close("bye")
		}
		w.OnClose = func(c *workerman.Connection) { closed <- c.ID }
	})
	c := tlsDial(t, addr, e.clientConfig())
	io.WriteString(c, "go\n")
	all, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read after Close: %v (a clean close_notify gives no error)", err)
	}
	if string(all) != big+"\nbye\n" {
		t.Fatalf("got %d bytes, want %d", len(all), len(big)+5)
	}
	<-closed
	select {
	case <-closed:
		t.Fatal("OnClose ran twice")
	case <-time.After(100 * time.Millisecond):
	}
}

// TestTLSSendBufferAccounting checks the send buffer of a TLS connection
// behaves as a native one: queued sends count in SendBufferLen, the send
// that fills it fires OnBufferFull, a send while it is full is dropped with
// OnError(SendFail), and OnBufferDrain fires once it has been written.
func TestTLSSendBufferAccounting(t *testing.T) {
	e := newTLSEnv(t)
	const chunk = 64 << 10
	var (
		conn                     *workerman.Connection
		full, drain, failed      atomic.Int32
		accepted, maxBuf, failSR int
		errMsg                   string
	)
	started := make(chan struct{})
	_, addr := serveTLS(t, e, "tcp://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnConnect = func(c *workerman.Connection) {
			conn = c
			c.MaxSendBufferSize = 512 << 10
			c.OnBufferFull = func(*workerman.Connection) { full.Add(1) }
			c.OnBufferDrain = func(*workerman.Connection) { drain.Add(1) }
			c.OnError = func(_ *workerman.Connection, code int, msg string) {
				if code == workerman.SendFail {
					failed.Add(1)
					errMsg = msg
				}
			}
			close(started)
		}
	})
	c := tlsDial(t, addr, e.clientConfig())
	c.Write([]byte{0}) // completes the handshake from the client side
	<-started
	// The client does not read: fill the buffer on the loop.
	wmtest.Do(func() {
		payload := bytes.Repeat([]byte("p"), chunk)
		for i := 0; i < 200; i++ {
			r := conn.Send(payload)
			if r == workerman.SendFailed {
				failSR++
				break
			}
			accepted += chunk
			maxBuf = max(maxBuf, conn.SendBufferLen())
		}
		if !conn.BufferIsFull() {
			t.Error("BufferIsFull false right after a send was dropped")
		}
	})
	if failSR != 1 || failed.Load() != 1 || errMsg != "send buffer full and drop package" {
		t.Fatalf("buffer-full drop: SendFailed %d, OnError %d %q", failSR, failed.Load(), errMsg)
	}
	if full.Load() != 1 {
		t.Errorf("OnBufferFull fired %d times, want 1", full.Load())
	}
	// The buffer holds TLS records: a chunk is four of them, each with
	// at most 22 bytes of header and tag around its 16 KiB.
	if maxBuf < 512<<10 || maxBuf > 512<<10+chunk+4*22 {
		t.Errorf("SendBufferLen peaked at %d, want between the limit and limit+chunk (sealed)", maxBuf)
	}
	// Now read everything that was accepted.
	got, err := io.ReadFull(c, make([]byte, accepted))
	if err != nil || got != accepted {
		t.Fatalf("read %d of %d: %v", got, accepted, err)
	}
	waitFor(t, "drain", func() bool { return conn.SendBufferLen() == 0 && drain.Load() > 0 })
	wmtest.Do(func() {
		if conn.BytesWritten() != int64(accepted) {
			t.Errorf("BytesWritten %d, want %d", conn.BytesWritten(), accepted)
		}
	})
}

// TestTLSBadHandshake checks a client that does not speak TLS is dropped
// without reaching the application, while others are served.
func TestTLSBadHandshake(t *testing.T) {
	e := newTLSEnv(t)
	var connects, closes atomic.Int32
	_, addr := serveTLS(t, e, "text://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnConnect = func(*workerman.Connection) { connects.Add(1) }
		w.OnClose = func(*workerman.Connection) { closes.Add(1) }
		w.OnMessage = func(c *workerman.Connection, data any) { c.Send(data) }
	})
	plain, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	plain.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(plain, "GET / HTTP/1.0\r\n\r\n")
	if _, err := io.ReadAll(plain); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Logf("plain client read: %v", err)
	}
	// A client that never speaks is cut at TLSHandshakeTimeout.
	old := workerman.TLSHandshakeTimeout
	wmtest.Do(func() { workerman.TLSHandshakeTimeout = 300 * time.Millisecond })
	defer wmtest.Do(func() { workerman.TLSHandshakeTimeout = old })
	silent, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	silent.SetDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := silent.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("silent client: read %v, want EOF from the handshake timeout", err)
	}
	t.Logf("silent client cut after %v", time.Since(start).Round(time.Millisecond))
	c := tlsDial(t, addr, e.clientConfig())
	io.WriteString(c, "ok\n")
	if l, err := bufio.NewReader(c).ReadString('\n'); err != nil || l != "ok\n" {
		t.Fatalf("good client after bad ones: %q %v", l, err)
	}
	if connects.Load() != 1 || closes.Load() != 0 {
		t.Fatalf("OnConnect %d OnClose %d, want 1 and 0", connects.Load(), closes.Load())
	}
}

// TestTLSCertificateReload replaces the certificate files of a running
// server; new handshakes get the new certificate without a restart.
func TestTLSCertificateReload(t *testing.T) {
	e := newTLSEnv(t)
	_, addr := serveTLS(t, e, "tcp://127.0.0.1:0", nil)
	serial := func() string {
		c := tlsDial(t, addr, e.clientConfig())
		if err := c.Handshake(); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	first := serial()
	if first != e.server.Leaf.SerialNumber.String() {
		t.Fatalf("served serial %s, want %s", first, e.server.Leaf.SerialNumber)
	}
	// Renew: issue a new certificate into the same files.
	renewed, err := e.ca.Server("server")
	if err != nil {
		t.Fatal(err)
	}
	if got := serial(); got != renewed.Leaf.SerialNumber.String() {
		t.Fatalf("after renewal served serial %s, want %s", got, renewed.Leaf.SerialNumber)
	}
	// A broken file keeps the last good certificate in service.
	os.WriteFile(e.server.KeyFile, []byte("garbage"), 0o600)
	if got := serial(); got != renewed.Leaf.SerialNumber.String() {
		t.Fatalf("with a broken key file served %s, want the previous %s", got, renewed.Leaf.SerialNumber)
	}
}

// TestSSLOptionsKeys loads certificates the ways the manual's context
// options allow: key in its own file, key inside local_cert, and keys
// protected by a passphrase in both the PKCS#8 and the legacy OpenSSL form.
func TestSSLOptionsKeys(t *testing.T) {
	e := newTLSEnv(t)
	combined, err := e.server.CombinedFile(filepath.Join(e.dir, "combined.pem"))
	if err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join(e.dir, "legacy.key")
	{
		//lint:ignore SA1019 legacy encrypted keys are what older deployments have
		blk, err := x509.EncryptPEMBlock(rand.Reader, "PRIVATE KEY", e.server.KeyDER, []byte("s3cret"), x509.PEMCipherAES256) //nolint:staticcheck
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(legacy, pem.EncodeToMemory(blk), 0o600)
	}
	cases := []struct {
		name string
		opt  workerman.SSLOptions
		err  string
	}{
		{"separate key", workerman.SSLOptions{LocalCert: e.server.CertFile, LocalPK: e.server.KeyFile}, ""},
		{"key in local_cert", workerman.SSLOptions{LocalCert: combined}, ""},
		{"legacy encrypted", workerman.SSLOptions{LocalCert: e.server.CertFile, LocalPK: legacy, Passphrase: "s3cret"}, ""},
		{"legacy wrong pass", workerman.SSLOptions{LocalCert: e.server.CertFile, LocalPK: legacy, Passphrase: "nope"}, "passphrase"},
		{"legacy no pass", workerman.SSLOptions{LocalCert: e.server.CertFile, LocalPK: legacy}, "Passphrase"},
		{"missing cert", workerman.SSLOptions{LocalCert: filepath.Join(e.dir, "none.pem")}, "no such file"},
		{"no cert", workerman.SSLOptions{}, "LocalCert"},
		{"cert without key", workerman.SSLOptions{LocalCert: e.server.CertFile}, "private key"},
	}
	if openssl, err := exec.LookPath("openssl"); err == nil {
		for _, v := range []struct{ name, cipher, prf string }{
			{"pkcs8 aes-256 sha256", "aes-256-cbc", "hmacWithSHA256"},
			{"pkcs8 aes-128 sha1", "aes-128-cbc", "hmacWithSHA1"},
			{"pkcs8 3des sha512", "des3", "hmacWithSHA512"},
		} {
			out := filepath.Join(e.dir, strings.ReplaceAll(v.name, " ", "_")+".key")
			cmd := exec.Command(openssl, "pkcs8", "-topk8", "-in", e.server.KeyFile, "-out", out,
				"-v2", v.cipher, "-v2prf", v.prf, "-passout", "pass:pa55 word")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("openssl pkcs8: %v %s", err, b)
			}
			cases = append(cases,
				struct {
					name string
					opt  workerman.SSLOptions
					err  string
				}{v.name, workerman.SSLOptions{LocalCert: e.server.CertFile, LocalPK: out, Passphrase: "pa55 word"}, ""},
				struct {
					name string
					opt  workerman.SSLOptions
					err  string
				}{v.name + " wrong pass", workerman.SSLOptions{LocalCert: e.server.CertFile, LocalPK: out, Passphrase: "pa55"}, "wrong passphrase"})
		}
	} else {
		wmtest.RequireTool(t, "openssl")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := tc.opt.ServerConfig()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Serve with it and complete a verified handshake.
			w := workerman.NewWorker("tcp://127.0.0.1:0")
			w.Transport = "ssl"
			w.TLSConfig = cfg
			addr := wmtest.Serve(t, w)
			c := tlsDial(t, addr, e.clientConfig())
			if err := c.Handshake(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTLSClientCertificates covers VerifyPeer on a server: a client must
// present a certificate signed by the CA file.
func TestTLSClientCertificates(t *testing.T) {
	e := newTLSEnv(t)
	client, err := e.ca.Client("client")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := workerman.SSLOptions{LocalCert: e.server.CertFile, LocalPK: e.server.KeyFile, VerifyPeer: true, CAFile: e.ca.File}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.Transport = "ssl"
	w.TLSConfig = cfg
	w.OnMessage = func(c *workerman.Connection, data any) {
		st, ok := c.TLSConnectionState()
		if !ok || len(st.PeerCertificates) == 0 {
			c.Send("no peer certificate")
			return
		}
		c.Send(fmt.Sprintf("%s from %s", data, st.PeerCertificates[0].Subject.CommonName))
	}
	addr := wmtest.Serve(t, w)

	with := e.clientConfig()
	with.Certificates = []tls.Certificate{client.TLS}
	c := tlsDial(t, addr, with)
	io.WriteString(c, "mtls\n")
	if l, err := bufio.NewReader(c).ReadString('\n'); err != nil || l != "mtls from client\n" {
		t.Fatalf("client with certificate: %q %v", l, err)
	}

	without, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, e.clientConfig())
	if err == nil {
		without.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(without, "x\n")
		_, err = without.Read(make([]byte, 1))
		without.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("client without certificate: %v, want a certificate error", err)
	}

	// The manual's wss client with a local certificate: an outbound
	// connection presenting local_cert.
	ccfg, err := workerman.SSLOptions{LocalCert: client.CertFile, LocalPK: client.KeyFile, CAFile: e.ca.File}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	r := newAsyncResult()
	wmtest.Do(func() {
		conn, err := workerman.NewAsyncTcpConnection("text://"+addr, &workerman.DialOptions{Transport: "ssl", TLSConfig: ccfg})
		if err != nil {
			t.Error(err)
			return
		}
		r.attach(conn)
		conn.OnConnect = func(c *workerman.Connection) { c.Send("async mtls") }
		conn.Connect()
	})
	if m := recv(t, r.messages, "echo with a client certificate"); m != "async mtls from client" {
		t.Fatalf("got %q", m)
	}
}

// asyncResult collects what an outbound connection reports.
type asyncResult struct {
	connected chan string
	messages  chan string
	errors    chan string
	closed    chan struct{}
}

func newAsyncResult() *asyncResult {
	return &asyncResult{
		connected: make(chan string, 8),
		messages:  make(chan string, 64),
		errors:    make(chan string, 8),
		closed:    make(chan struct{}, 8),
	}
}

func (r *asyncResult) attach(c *workerman.Connection) {
	c.OnConnect = func(c *workerman.Connection) { r.connected <- c.Transport() }
	c.OnMessage = func(c *workerman.Connection, data any) {
		switch v := data.(type) {
		case string:
			r.messages <- v
		case []byte:
			r.messages <- string(v)
		}
	}
	c.OnError = func(c *workerman.Connection, code int, msg string) { r.errors <- fmt.Sprintf("%d %s", code, msg) }
	c.OnClose = func(*workerman.Connection) { r.closed <- struct{}{} }
}

func recv[T any](t *testing.T, ch chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// TestTLSAsyncClient connects outbound over TLS with the verification
// options of the manual, to a server with a CA-signed certificate and to one
// with a self-signed certificate.
func TestTLSAsyncClient(t *testing.T) {
	e := newTLSEnv(t)
	_, addr := serveTLS(t, e, "text://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnMessage = func(c *workerman.Connection, data any) { c.Send("re:" + data.(string)) }
	})
	self, err := testcert.SelfSigned(e.dir, "self")
	if err != nil {
		t.Fatal(err)
	}
	selfCfg, err := workerman.SSLOptions{LocalCert: self.CertFile, LocalPK: self.KeyFile}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	sw := workerman.NewWorker("text://127.0.0.1:0")
	sw.Transport = "ssl"
	sw.TLSConfig = selfCfg
	sw.OnMessage = func(c *workerman.Connection, data any) { c.Send("self:" + data.(string)) }
	selfAddr := wmtest.Serve(t, sw)
	_, port, _ := net.SplitHostPort(addr)

	cases := []struct {
		name, address string
		opt           workerman.SSLOptions
		wantErr       string // "" when the connection must work
		reply         string
	}{
		{"ca file", "text://" + addr, workerman.SSLOptions{CAFile: e.ca.File}, "", "re:"},
		{"ca file by name", "text://localhost:" + port, workerman.SSLOptions{CAFile: e.ca.File}, "", "re:"},
		{"system roots", "text://" + addr, workerman.SSLOptions{}, "certificate", ""},
		{"peer name mismatch", "text://" + addr, workerman.SSLOptions{CAFile: e.ca.File, PeerName: "example.com"}, "example.com", ""},
		{"skip peer name", "text://" + addr, workerman.SSLOptions{CAFile: e.ca.File, PeerName: "example.com", SkipPeerNameCheck: true}, "", "re:"},
		{"verify_peer false", "text://" + addr, workerman.SSLOptions{InsecureSkipVerify: true}, "", "re:"},
		{"self-signed refused", "text://" + selfAddr, workerman.SSLOptions{CAFile: e.ca.File}, "certificate", ""},
		{"allow_self_signed", "text://" + selfAddr, workerman.SSLOptions{AllowSelfSigned: true}, "", "self:"},
		{"allow_self_signed wrong name", "text://" + selfAddr, workerman.SSLOptions{AllowSelfSigned: true, PeerName: "other.test"}, "other.test", ""},
		{"CA-signed is not self-signed", "text://" + addr, workerman.SSLOptions{AllowSelfSigned: true}, "certificate", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := tc.opt.ClientConfig()
			if err != nil {
				t.Fatal(err)
			}
			r := newAsyncResult()
			var conn *workerman.Connection
			wmtest.Do(func() {
				conn, err = workerman.NewAsyncTcpConnection(tc.address, &workerman.DialOptions{Transport: "ssl", TLSConfig: cfg})
				if err != nil {
					return
				}
				r.attach(conn)
				conn.Send("early") // queued until the handshake is done
				err = conn.Connect()
			})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" {
				msg := recv(t, r.errors, "OnError")
				if !strings.HasPrefix(msg, fmt.Sprintf("%d connect to ", workerman.ConnectFail)) || !strings.Contains(msg, tc.wantErr) {
					t.Fatalf("OnError %q, want ConnectFail mentioning %q", msg, tc.wantErr)
				}
				recv(t, r.closed, "OnClose after a failed connect")
				if len(r.connected) > 0 {
					t.Fatal("OnConnect ran for a connection that failed verification")
				}
				return
			}
			if tr := recv(t, r.connected, "OnConnect"); tr != "ssl" {
				t.Errorf("Transport %q", tr)
			}
			if m := recv(t, r.messages, "reply"); m != tc.reply+"early" {
				t.Fatalf("reply %q", m)
			}
			wmtest.Do(func() { conn.Send("later") })
			if m := recv(t, r.messages, "reply"); m != tc.reply+"later" {
				t.Fatalf("reply %q", m)
			}
			wmtest.Do(func() { conn.Close() })
			recv(t, r.closed, "OnClose")
		})
	}
}

// TestTLSAsyncReconnect keeps an outbound TLS connection up across a
// restart of its server with Reconnect in OnClose.
func TestTLSAsyncReconnect(t *testing.T) {
	e := newTLSEnv(t)
	w1, addr := serveTLS(t, e, "frame://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnMessage = func(c *workerman.Connection, data any) { c.Send(append([]byte("one:"), data.([]byte)...)) }
	})
	cfg, _ := workerman.SSLOptions{CAFile: e.ca.File}.ClientConfig()
	r := newAsyncResult()
	var conn *workerman.Connection
	var closes atomic.Int32
	wmtest.Do(func() {
		var err error
		conn, err = workerman.NewAsyncTcpConnection("frame://"+addr, &workerman.DialOptions{Transport: "ssl", TLSConfig: cfg})
		if err != nil {
			t.Error(err)
			return
		}
		r.attach(conn)
		conn.OnConnect = func(c *workerman.Connection) { c.Send("hi") }
		conn.OnClose = func(c *workerman.Connection) {
			closes.Add(1)
			c.Reconnect(50 * time.Millisecond)
		}
		conn.Connect()
	})
	if m := recv(t, r.messages, "first reply"); m != "one:hi" {
		t.Fatalf("got %q", m)
	}
	wmtest.Do(w1.Stop)
	// While the server is down, attempts fail with ConnectFail.
	if msg := recv(t, r.errors, "connect failure while down"); !strings.HasPrefix(msg, "1 connect to frame://"+addr) {
		t.Fatalf("OnError %q", msg)
	}
	w2 := workerman.NewWorker("frame://" + addr)
	w2.Transport = "ssl"
	w2.TLSConfig = e.serverConfig(t)
	w2.OnMessage = func(c *workerman.Connection, data any) { c.Send(append([]byte("two:"), data.([]byte)...)) }
	wmtest.Serve(t, w2)
	if m := recv(t, r.messages, "reply after restart"); m != "two:hi" {
		t.Fatalf("got %q", m)
	}
	wmtest.Do(func() {
		conn.OnClose = nil
		conn.Close()
	})
	if closes.Load() < 2 {
		t.Errorf("OnClose ran %d times, want one per lost connection and failed attempt", closes.Load())
	}
}

// TestHTTPS is the manual's 创建https服务: an http:// worker with
// Transport "ssl" and the certificate files, checked by Go's HTTP client
// and by curl, both verifying the certificate against the test CA.
func TestHTTPS(t *testing.T) {
	e := newTLSEnv(t)
	_, addr := serveTLS(t, e, "http://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnMessage = func(c *workerman.Connection, data any) {
			r := data.(*wmhttp.Request)
			if r.Path() == "/echo" {
				c.Send(wmhttp.NewResponse(200, map[string]string{"Content-Type": "application/octet-stream"}, string(r.RawBody())))
				return
			}
			c.Send("hello " + r.Get("name"))
		}
	})
	_, port, _ := net.SplitHostPort(addr)
	base := "https://localhost:" + port

	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: e.ca.Pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	resp, err := client.Get(base + "/?name=go")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello go" || resp.TLS == nil {
		t.Fatalf("GET: %q (TLS %v)", body, resp.TLS != nil)
	}
	// A 2 MiB upload echoed back, on the same kept-alive connection.
	big := bytes.Repeat([]byte("0123456789abcdef"), 2<<20/16)
	reused := false
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
	})
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/echo", bytes.NewReader(big))
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(body, big) {
		t.Fatalf("POST echo: %d bytes, want %d", len(body), len(big))
	}
	if !reused {
		t.Error("the second request did not reuse the TLS connection")
	}

	curl := wmtest.RequireTool(t, "curl")
	resolve := "localhost:" + port + ":127.0.0.1"
	out, err := exec.Command(curl, "-sS", "--max-time", "20", "--cacert", e.ca.File, "--resolve", resolve,
		base+"/?name=curl", base+"/?name=again").CombinedOutput()
	if err != nil || string(out) != "hello curlhello again" {
		t.Fatalf("curl: %q %v", out, err)
	}
	// Without the CA, curl refuses the certificate (exit status 60).
	err = exec.Command(curl, "-sS", "--max-time", "20", "--resolve", resolve, base+"/").Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 60 {
		t.Fatalf("curl without the CA: %v, want exit status 60", err)
	}
}

// wssDial opens a WebSocket over TLS by hand and returns the connection.
func wssDial(t *testing.T, addr string, cfg *tls.Config) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	c := tlsDial(t, addr, cfg)
	fmt.Fprintf(c, "GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake: %s %v", resp.Status, resp.Header)
	}
	return c, r
}

func wsWriteText(w io.Writer, msg string) {
	mask := [4]byte{1, 2, 3, 4}
	f := []byte{0x81, 0x80 | byte(len(msg))}
	f = append(f, mask[:]...)
	for i := 0; i < len(msg); i++ {
		f = append(f, msg[i]^mask[i%4])
	}
	w.Write(f)
}

func wsReadText(r *bufio.Reader) (string, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return "", err
	}
	if h[0] != 0x81 || h[1] > 125 {
		return "", fmt.Errorf("unexpected frame header % x", h)
	}
	b := make([]byte, h[1])
	_, err := io.ReadFull(r, b)
	return string(b), err
}

// TestWSS is the manual's 创建wss服务: a websocket:// worker with Transport
// "ssl", used by a Go client and by headless Chromium trusting the test CA
// through its certificate database.
func TestWSS(t *testing.T) {
	e := newTLSEnv(t)
	acks := make(chan string, 4)
	_, wsAddr := serveTLS(t, e, "websocket://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnMessage = func(c *workerman.Connection, data any) {
			s := data.(string)
			if strings.HasPrefix(s, "ack:") {
				acks <- s
				return
			}
			c.Send("echo:" + s)
		}
	})
	_, wsPort, _ := net.SplitHostPort(wsAddr)

	t.Run("go client", func(t *testing.T) {
		c, r := wssDial(t, wsAddr, e.clientConfig())
		for _, m := range []string{"one", "two"} {
			wsWriteText(c, m)
			if got, err := wsReadText(r); err != nil || got != "echo:"+m {
				t.Fatalf("got %q %v", got, err)
			}
		}
	})

	// The manual's 作为wss客户端: ws:// with Transport "ssl".
	t.Run("workerman wss client", func(t *testing.T) {
		cfg, err := workerman.SSLOptions{CAFile: e.ca.File}.ClientConfig()
		if err != nil {
			t.Fatal(err)
		}
		r := newAsyncResult()
		var conn *workerman.Connection
		wmtest.Do(func() {
			conn, err = workerman.NewAsyncTcpConnection("ws://localhost:"+wsPort+"/", &workerman.DialOptions{Transport: "ssl", TLSConfig: cfg})
			if err != nil {
				return
			}
			r.attach(conn)
			conn.OnConnect = func(c *workerman.Connection) { c.Send("hello") }
			conn.Connect()
		})
		if err != nil {
			t.Fatal(err)
		}
		if m := recv(t, r.messages, "reply over wss"); m != "echo:hello" {
			t.Fatalf("got %q", m)
		}
		wmtest.Do(func() { conn.Close() })
		recv(t, r.closed, "OnClose")
	})

	t.Run("chromium", func(t *testing.T) {
		chromium := wmtest.RequireTool(t, "chromium")
		certutil := wmtest.RequireTool(t, "certutil")
		page := `<!doctype html><title>wss</title><script>
const ws = new WebSocket("wss://localhost:` + wsPort + `/");
ws.onopen = () => ws.send("hello from chromium");
ws.onmessage = (e) => ws.send("ack:" + e.data + ":" + location.protocol);
</script>`
		var pageHits atomic.Int32
		_, pageAddr := serveTLS(t, e, "http://127.0.0.1:0", func(w *workerman.Worker) {
			w.OnMessage = func(c *workerman.Connection, data any) {
				pageHits.Add(1)
				c.Send(wmhttp.NewResponse(200, map[string]string{"Content-Type": "text/html"}, page))
			}
		})
		_, pagePort, _ := net.SplitHostPort(pageAddr)

		// A private home whose NSS database trusts the test CA.
		home := t.TempDir()
		nss := "sql:" + filepath.Join(home, ".pki", "nssdb")
		os.MkdirAll(filepath.Join(home, ".pki", "nssdb"), 0o700)
		for _, args := range [][]string{
			{"-d", nss, "-N", "--empty-password"},
			{"-d", nss, "-A", "-t", "C,,", "-n", "workerman test CA", "-i", e.ca.File},
		} {
			if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
				t.Fatalf("certutil %v: %v %s", args, err, out)
			}
		}
		cmd := exec.Command(chromium, "--no-sandbox", "--headless", "--disable-gpu", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir="+filepath.Join(home, "profile"), "https://localhost:"+pagePort+"/")
		cmd.Env = append(os.Environ(), "HOME="+home)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}()
		select {
		case ack := <-acks:
			if ack != "ack:echo:hello from chromium:https:" {
				t.Fatalf("browser sent %q", ack)
			}
		case <-time.After(40 * time.Second):
			t.Fatalf("no message from Chromium over wss (page served %d times); stderr:\n%s", pageHits.Load(), stderr.String())
		}
	})
}

// The manual's 传输加密-ssl/tls: a worker of any protocol serves TLS once
// its Transport is "ssl" and it has a certificate. Here the certificate
// comes from a test CA; in production it is the files of a real one.
func ExampleSSLOptions() {
	dir, _ := os.MkdirTemp("", "wm-example-")
	defer os.RemoveAll(dir)
	ca, _ := testcert.NewCA(dir)
	pair, _ := ca.Server("server")

	w := workerman.NewWorker("text://127.0.0.1:0")
	w.Transport = "ssl"
	cfg, err := workerman.SSLOptions{
		LocalCert: pair.CertFile, // local_cert
		LocalPK:   pair.KeyFile,  // local_pk
	}.ServerConfig()
	if err != nil {
		fmt.Println(err)
		return
	}
	w.TLSConfig = cfg
	w.OnMessage = func(c *workerman.Connection, data any) {
		c.Send("hello " + data.(string) + " over " + c.Transport())
	}
	var addr string
	wmtest.Do(func() {
		if err = w.Listen(); err == nil {
			addr = w.Addr().String()
		}
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wmtest.Do(w.Stop)

	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fmt.Fprintln(conn, "tom")
	line, _ := bufio.NewReader(conn).ReadString('\n')
	fmt.Print(line)
	// Output: hello tom over ssl
}

// TestTLSGoroutines checks the documented cost of a TLS connection, no
// goroutine once its handshake is done, and that every goroutine ends with
// the connection, however it ends.
func TestTLSGoroutines(t *testing.T) {
	e := newTLSEnv(t)
	var conns []*workerman.Connection
	_, addr := serveTLS(t, e, "text://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnConnect = func(c *workerman.Connection) { conns = append(conns, c) }
		w.OnMessage = func(c *workerman.Connection, data any) { c.Send(data) }
	})
	settle := func(want func(int) bool) int {
		var n int
		for i := 0; i < 300; i++ {
			n = runtime.NumGoroutine()
			if want(n) {
				return n
			}
			time.Sleep(10 * time.Millisecond)
		}
		return n
	}
	runtime.GC()
	base := runtime.NumGoroutine()
	const n = 40
	var clients []*tls.Conn
	for i := 0; i < n; i++ {
		c := tlsDial(t, addr, e.clientConfig())
		io.WriteString(c, "x\n")
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	// Idle: the handshake goroutines have ended; the loop serves the
	// connections alone. (A little slack for the runtime's own.)
	got := settle(func(g int) bool { return g-base <= 2 })
	if got-base > 2 {
		t.Errorf("%d idle TLS connections hold %d goroutines, want none", n, got-base)
	}
	// End them three ways: the client closes, the server closes, the
	// server destroys.
	for _, c := range clients[:n/3] {
		c.Close()
	}
	wmtest.Do(func() {
		for i, c := range conns[n/3:] {
			if i%2 == 0 {
				c.Close("bye")
			} else {
				c.Destroy()
			}
		}
	})
	for _, c := range clients[n/3:] {
		io.ReadAll(c)
		c.Close()
	}
	if got := settle(func(g int) bool { return g <= base }); got > base {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines left after every connection ended (was %d):\n%s", got, base, buf[:runtime.Stack(buf, true)])
	}
}

// TestTLSCloseWithUnreadInput closes a paused connection whose peer has
// sent more than was read: the reply must still arrive whole, followed by
// a clean end, not a reset that destroys it.
func TestTLSCloseWithUnreadInput(t *testing.T) {
	e := newTLSEnv(t)
	reply := strings.Repeat("r", 256<<10)
	_, addr := serveTLS(t, e, "text://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnMessage = func(c *workerman.Connection, data any) {
			if data.(string) != "start" {
				return
			}
			c.PauseRecv()
			workerman.Timer.Once(300*time.Millisecond, func() { c.Close(reply) })
		}
	})
	c := tlsDial(t, addr, e.clientConfig())
	io.WriteString(c, "start\n")
	// Input the server will not read keeps coming while the reply is
	// written and the connection closed, and after that, until the client
	// has read everything: the server must not answer it with a reset,
	// which would destroy the reply the client has not read yet.
	junk := strings.Repeat("j", 1023) + "\n"
	stop := make(chan struct{})
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := io.WriteString(c, junk); err != nil {
				return
			}
		}
	}()
	got, err := io.ReadAll(c)
	close(stop)
	c.Close()
	<-wrote
	if err != nil || len(got) != len(reply)+1 {
		t.Fatalf("read %d of %d bytes: %v", len(got), len(reply)+1, err)
	}
}

// TestTLSPausedPeerEnd checks that input and the end of input that arrive
// while a TLS connection is paused are delivered, in order, once it
// resumes, as on a native connection.
func TestTLSPausedPeerEnd(t *testing.T) {
	e := newTLSEnv(t)
	events := make(chan string, 16)
	_, addr := serveTLS(t, e, "text://127.0.0.1:0", func(w *workerman.Worker) {
		w.OnMessage = func(c *workerman.Connection, data any) {
			events <- data.(string)
			if data.(string) == "pause" {
				c.PauseRecv()
				workerman.Timer.Once(300*time.Millisecond, func() {
					events <- "resume"
					c.ResumeRecv()
				})
			}
		}
		w.OnClose = func(*workerman.Connection) { events <- "close" }
	})
	c := tlsDial(t, addr, e.clientConfig())
	io.WriteString(c, "pause\n")
	time.Sleep(50 * time.Millisecond)
	io.WriteString(c, "a\nb\n")
	// End the input with close_notify but keep reading, so that unread
	// session tickets do not make the client's kernel reset the connection.
	c.CloseWrite()
	go io.Copy(io.Discard, c)
	var got []string
	for len(got) < 5 {
		got = append(got, recv(t, events, "server events"))
	}
	if strings.Join(got, " ") != "pause resume a b close" {
		t.Fatalf("events %q", got)
	}
}
