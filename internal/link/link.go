// Package link is the client side shared by the component clients
// (channel, globaldata): one outbound frame connection on the process's
// event loop that reconnects by itself, with a bounded queue of frames that
// any goroutine may add to.
//
// Frames are queued under a mutex and written by the loop in batches: all
// the frames queued during one loop turn leave in one write. While the link
// is down, or while the connection's send buffer is full, frames stay in
// the queue; a frame that would take the queue past MaxPending is refused
// with ErrFull, so nothing is dropped without the caller knowing.
package link

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wire"
)

// ErrFull is returned by Queue when the queue holds MaxPending bytes.
var ErrFull = errors.New("queue full")

// ErrClosed is returned by Queue after Close.
var ErrClosed = errors.New("client closed")

// Config describes a link.
type Config struct {
	// Address is "host:port", "tcp://host:port" or "unix:///path".
	Address string
	// MaxPending bounds the bytes of queued frames.
	MaxPending int
	// MaxPackageSize bounds one received frame.
	MaxPackageSize int
	// ReconnectMin and ReconnectMax bound the delay between connection
	// attempts, which doubles from the first to the second while the server
	// stays unreachable.
	ReconnectMin, ReconnectMax time.Duration
	// OnUp runs on the loop when the connection is established, before the
	// queued frames are written; frames it passes to Write go first.
	OnUp func()
	// OnDown runs on the loop when an established connection is lost.
	OnDown func(reason string)
	// OnFrame receives the payload of each frame, valid during the call.
	OnFrame func(payload []byte)
	// Keep, if set, is asked on the loop about each frame that was queued
	// while the link was down, just before it is written after a reconnect;
	// false drops the frame.
	Keep func(frame []byte) bool
}

// Link is one reconnecting client connection.
type Link struct {
	cfg  Config
	addr string

	mu        sync.Mutex
	out       []byte // queued frames
	spare     []byte
	scheduled bool
	up        bool // connected and the send buffer has room
	wasDown   bool // the connection was lost (or never up) since the queue was last written
	closed    bool

	connected atomic.Bool

	flushF func() // l.flush, made once: a method value allocates

	// loop only
	c       *workerman.Connection
	backoff time.Duration
	retry   int // timer of the next connection attempt, or 0
	downLog bool
}

// New checks the configuration; Start connects.
func New(cfg Config) (*Link, error) {
	addr := cfg.Address
	if addr == "" {
		return nil, errors.New("empty server address")
	}
	if !strings.Contains(addr, "://") {
		addr = "tcp://" + addr
	}
	switch scheme, _, _ := strings.Cut(addr, "://"); scheme {
	case "tcp", "unix", "frame":
	default:
		return nil, fmt.Errorf("address %q: want host:port, tcp://host:port or unix:///path", cfg.Address)
	}
	if strings.HasPrefix(addr, "frame://") {
		addr = "tcp://" + strings.TrimPrefix(addr, "frame://")
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 4 << 20
	}
	if cfg.MaxPackageSize <= 0 {
		cfg.MaxPackageSize = 10 << 20
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = 50 * time.Millisecond
	}
	if cfg.ReconnectMax < cfg.ReconnectMin {
		cfg.ReconnectMax = 2 * time.Second
	}
	l := &Link{cfg: cfg, addr: addr, wasDown: true}
	l.flushF = l.flush
	// Check the address now, so that a bad one is the caller's error.
	c, err := workerman.NewAsyncTcpConnection(addr, nil)
	if err != nil {
		return nil, err
	}
	l.c = c
	return l, nil
}

// Start connects; call it on the loop.
func (l *Link) Start() {
	c := l.c
	c.Protocol = workerman.Frame
	c.MaxPackageSize = l.cfg.MaxPackageSize
	c.MaxSendBufferSize = 8 << 20
	c.OnConnect = l.onConnect
	c.OnMessage = func(_ *workerman.Connection, data any) { l.cfg.OnFrame(data.([]byte)) }
	c.OnBufferFull = func(*workerman.Connection) {
		l.mu.Lock()
		l.up = false
		l.mu.Unlock()
	}
	c.OnBufferDrain = func(*workerman.Connection) {
		l.mu.Lock()
		l.up = l.connected.Load() && !l.closed
		l.mu.Unlock()
		l.flush()
	}
	c.OnError = func(_ *workerman.Connection, code int, msg string) {
		if code == workerman.ConnectFail && !l.downLog {
			l.downLog = true
			workerman.Logger().Warn("component server unreachable; retrying", "address", l.cfg.Address, "err", msg)
		}
	}
	c.OnClose = l.onClose
	l.backoff = l.cfg.ReconnectMin
	if err := c.Connect(); err != nil {
		workerman.Logger().Error("component client cannot connect", "address", l.cfg.Address, "err", err)
	}
}

// Connected reports whether the connection is established.
func (l *Link) Connected() bool { return l.connected.Load() }

func (l *Link) onConnect(c *workerman.Connection) {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		c.Close()
		return
	}
	l.connected.Store(true)
	l.backoff = l.cfg.ReconnectMin
	if l.downLog {
		l.downLog = false
		workerman.Logger().Info("component server reachable again", "address", l.cfg.Address)
	}
	if l.cfg.OnUp != nil {
		l.cfg.OnUp()
	}
	l.mu.Lock()
	if l.wasDown && l.cfg.Keep != nil {
		// Everything queued now was queued before this connection was up.
		l.out = l.filter(l.out, len(l.out))
	}
	l.wasDown = false
	l.up = !l.closed
	l.mu.Unlock()
	l.flush()
}

// filter drops the frames among the first end bytes of b that Keep refuses.
func (l *Link) filter(b []byte, end int) []byte {
	w := 0
	for r := 0; r < end && r+wire.HeaderSize <= len(b); {
		n := int(uint32(b[r])<<24 | uint32(b[r+1])<<16 | uint32(b[r+2])<<8 | uint32(b[r+3]))
		if n < wire.HeaderSize || r+n > len(b) {
			break
		}
		if l.cfg.Keep(b[r : r+n]) {
			copy(b[w:], b[r:r+n])
			w += n
		}
		r += n
	}
	rest := copy(b[w:], b[end:])
	return b[:w+rest]
}

func (l *Link) onClose(c *workerman.Connection) {
	was := l.connected.Swap(false)
	l.mu.Lock()
	l.up = false
	l.wasDown = true
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return
	}
	if was && l.cfg.OnDown != nil {
		l.cfg.OnDown("connection to " + l.cfg.Address + " lost")
	}
	delay := l.backoff
	l.backoff *= 2
	if l.backoff > l.cfg.ReconnectMax {
		l.backoff = l.cfg.ReconnectMax
	}
	// The link keeps the timer, so that Close can cancel the attempt.
	l.retry = workerman.Timer.Once(delay, func() {
		l.retry = 0
		l.mu.Lock()
		closed := l.closed
		l.mu.Unlock()
		if closed {
			return
		}
		if err := c.Reconnect(0); err != nil {
			workerman.Logger().Error("component client cannot reconnect", "address", l.cfg.Address, "err", err)
		}
	})
}

// Write sends a frame at once; call it on the loop from OnUp.
func (l *Link) Write(frame []byte) { l.c.SendRaw(frame) }

// Queue appends a frame built by build (which appends it to the slice it
// is given) to the queue, from any goroutine, and has the loop write it.
func (l *Link) Queue(build func(b []byte) []byte) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	start := len(l.out)
	l.out = build(l.out)
	if len(l.out) > l.cfg.MaxPending && start > 0 {
		l.out = l.out[:start]
		l.mu.Unlock()
		return ErrFull
	}
	if l.up && !l.scheduled {
		l.scheduled = true
		l.mu.Unlock()
		workerman.Post(l.flushF)
		return nil
	}
	l.mu.Unlock()
	return nil
}

// QueuedBytes returns the bytes waiting in the queue.
func (l *Link) QueuedBytes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.out)
}

// flush writes the queue, on the loop.
func (l *Link) flush() {
	l.mu.Lock()
	l.scheduled = false
	if !l.up || len(l.out) == 0 {
		l.mu.Unlock()
		return
	}
	buf := l.out
	l.out = l.spare[:0]
	l.mu.Unlock()
	l.c.SendRaw(buf)
	l.mu.Lock()
	if cap(buf) <= 1<<20 {
		l.spare = buf[:0]
	} else {
		l.spare = nil
	}
	l.mu.Unlock()
}

// Close ends the link: the connection closes once what was queued is
// written (if it is up), and Queue fails from now on. Any goroutine.
func (l *Link) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	l.mu.Unlock()
	workerman.Post(func() {
		if l.retry != 0 {
			workerman.Timer.Del(l.retry)
			l.retry = 0
		}
		l.mu.Lock()
		l.up = l.connected.Load()
		l.mu.Unlock()
		l.flush()
		l.c.Close()
	})
}
