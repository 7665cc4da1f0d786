//go:build unix

package workerman_test

import (
	"crypto/sha256"
	"crypto/tls"
	"io"
	"net"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// pattern writes n deterministic bytes to w in chunks and returns their
// hash.
func pattern(w io.Writer, n int) ([32]byte, error) {
	h := sha256.New()
	buf := make([]byte, 32<<10)
	for i := range buf {
		buf[i] = byte(i*7 + i>>8)
	}
	for sent := 0; sent < n; {
		k := min(len(buf), n-sent)
		buf[0] = byte(sent >> 15) // vary the chunks
		if _, err := w.Write(buf[:k]); err != nil {
			return [32]byte{}, err
		}
		h.Write(buf[:k])
		sent += k
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// slowRead reads everything from r in small pieces with pauses and returns
// the hash and the count.
func slowRead(r io.Reader, piece int, pause time.Duration) ([32]byte, int, error) {
	h := sha256.New()
	buf := make([]byte, piece)
	total := 0
	for {
		n, err := io.ReadFull(r, buf)
		h.Write(buf[:n])
		total += n
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			var sum [32]byte
			return sum, total, err
		}
		time.Sleep(pause)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, total, nil
}

// proxyProbe watches a proxy's two connections on the loop.
type proxyProbe struct {
	mu            sync.Mutex
	front, back   *workerman.Connection
	maxFront      int
	maxBack       int
	frontPauses   atomic.Int32 // times the front was paused (back full)
	backPauses    atomic.Int32 // times the back was paused (front full)
	maxHeapGrowth uint64
}

func (p *proxyProbe) sample() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.front != nil {
		p.maxFront = max(p.maxFront, p.front.SendBufferLen())
	}
	if p.back != nil {
		p.maxBack = max(p.maxBack, p.back.SendBufferLen())
	}
}

// serveProxy is the manual's pipe proxy: each client connection gets an
// outbound connection to target, piped both ways.
func serveProxy(t *testing.T, w *workerman.Worker, target string, opts *workerman.DialOptions, p *proxyProbe) string {
	w.OnConnect = func(c *workerman.Connection) {
		up, err := workerman.NewAsyncTcpConnection(target, opts)
		if err != nil {
			t.Error(err)
			c.Close()
			return
		}
		c.Pipe(up)
		up.Pipe(c)
		// Count the pauses that Pipe's flow control makes.
		onFullUp, onFullC := up.OnBufferFull, c.OnBufferFull
		up.OnBufferFull = func(x *workerman.Connection) { p.frontPauses.Add(1); onFullUp(x) }
		c.OnBufferFull = func(x *workerman.Connection) { p.backPauses.Add(1); onFullC(x) }
		p.mu.Lock()
		p.front, p.back = c, up
		p.mu.Unlock()
		up.Connect()
	}
	return wmtest.Serve(t, w)
}

// liveHeap returns the heap that survived the last collection, so garbage
// waiting for the collector does not count.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// watch samples the probe and the heap until stop is closed.
func (p *proxyProbe) watch(stop chan struct{}, done chan struct{}) {
	defer close(done)
	runtime.GC()
	base := liveHeap()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			wmtest.Do(p.sample)
			if h := liveHeap(); h > base && h-base > p.maxHeapGrowth {
				p.maxHeapGrowth = h - base
			}
		}
	}
}

const proxyBytes = 24 << 20

// TestPipeProxySlowReader runs the manual's pipe proxy between TLS clients
// and a plain TCP server, with each side in turn reading slowly: data must
// arrive whole, Pipe must pause the fast side, and memory must stay flat.
func TestPipeProxySlowReader(t *testing.T) {
	e := newTLSEnv(t)
	// The backend: "down" streams proxyBytes to the client; "up" reads
	// what the client uploads, slowly.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		sum [32]byte
		n   int
		err error
	}
	backend := make(chan result, 1)
	var mode atomic.Value
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if mode.Load() == "down" {
					sum, err := pattern(c, proxyBytes)
					backend <- result{sum, proxyBytes, err}
					return
				}
				sum, n, err := slowRead(c, 64<<10, 5*time.Millisecond)
				backend <- result{sum, n, err}
			}()
		}
	}()

	for _, dir := range []string{"down", "up"} {
		t.Run(dir, func(t *testing.T) {
			mode.Store(dir)
			p := &proxyProbe{}
			w := workerman.NewWorker("tcp://127.0.0.1:0")
			w.Transport = "ssl"
			w.TLSConfig = e.serverConfig(t)
			addr := serveProxy(t, w, "tcp://"+ln.Addr().String(), nil, p)
			c, err := tls.Dial("tcp", addr, e.clientConfig())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(50 * time.Second))
			stop, done := make(chan struct{}), make(chan struct{})
			go p.watch(stop, done)
			var got result
			if dir == "down" {
				// Slow enough that the proxy, which decrypts and encrypts
				// on one loop, outpaces the reader on a busy machine too.
				sum, n, err := slowRead(c, 32<<10, 5*time.Millisecond)
				got = result{sum, n, err}
			} else {
				sum, err := pattern(c, proxyBytes)
				c.CloseWrite()
				got = result{sum, proxyBytes, err}
			}
			want := <-backend
			close(stop)
			<-done
			if got.err != nil || want.err != nil {
				t.Fatalf("transfer errors: client %v, backend %v", got.err, want.err)
			}
			if got.n != want.n || got.sum != want.sum {
				t.Fatalf("data differs through the proxy: %d bytes vs %d", got.n, want.n)
			}
			// A buffer may pass its limit by one delivered piece: at most
			// 64 KiB (ReadChunk), natively, and over TLS that piece sealed:
			// four records of 16 KiB, each with at most 29 bytes of
			// header, nonce and tag (TLS 1.2 AES-GCM; 22 in TLS 1.3).
			limit := workerman.DefaultMaxSendBufferSize + workerman.ReadChunk + 4*29
			t.Logf("%s: max send buffer front %d back %d; pauses of front %d back %d; heap growth %d KiB",
				dir, p.maxFront, p.maxBack, p.frontPauses.Load(), p.backPauses.Load(), p.maxHeapGrowth>>10)
			if p.maxFront > limit || p.maxBack > limit {
				t.Errorf("a send buffer grew past MaxSendBufferSize: front %d back %d", p.maxFront, p.maxBack)
			}
			if dir == "down" && p.backPauses.Load() == 0 {
				t.Error("the backend side was never paused while the client read slowly")
			}
			if dir == "up" && p.frontPauses.Load() == 0 {
				t.Error("the TLS client side was never paused while the backend read slowly")
			}
			if p.maxHeapGrowth > 12<<20 {
				t.Errorf("heap grew by %d MiB while %d MiB passed: flow control is not holding memory flat", p.maxHeapGrowth>>20, proxyBytes>>20)
			}
		})
	}
}
