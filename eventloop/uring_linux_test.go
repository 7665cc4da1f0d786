//go:build linux && !workerman_portable

package eventloop

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// runUring starts a loop on io_uring. Where the kernel refuses io_uring (a
// container whose seccomp profile forbids it) the test is skipped and says
// why.
func runUring(t *testing.T) *Loop {
	t.Helper()
	if r, err := openUring(); err != nil {
		t.Skipf("io_uring is not available here: %v", err)
	} else {
		r.close()
	}
	t.Setenv(PollerEnv, "io_uring")
	l := run(t)
	if l.Poller() != "io_uring" || !l.Completions() {
		t.Fatalf("Poller() = %q, Completions() = %v with %s=io_uring", l.Poller(), l.Completions(), PollerEnv)
	}
	return l
}

// do runs f on the loop and waits for it.
func do(l *Loop, f func()) {
	done := make(chan struct{})
	l.Post(func() { f(); close(done) })
	<-done
}

// listener is a listening TCP socket accepted on the loop by readiness
// (it stays on epoll) whose connections are served by completions.
func listen(t *testing.T, l *Loop, serve func(fd int)) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 128); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	port := sa.(*unix.SockaddrInet4).Port
	do(l, func() {
		err = l.AddHandler(fd, Readable, HandlerFunc(func(fd int, ev Event) {
			for {
				nfd, _, err := unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
				if err != nil {
					return
				}
				serve(nfd)
			}
		}))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		do(l, func() { l.RemoveHandler(fd) })
		unix.Close(fd)
	})
	return net.JoinHostPort("127.0.0.1", itoa(port))
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// conn is a completion handler that queues what it is asked to send and
// records what happens, like the connection layer does.
type conn struct {
	l       *Loop
	fd      int
	out     []byte // bytes not yet reported sent
	sent    int
	recv    []byte
	eof     bool
	hangup  bool
	onRecv  func(c *conn, data []byte)
	onEvent chan string
}

func (c *conn) note(s string) {
	select {
	case c.onEvent <- s:
	default:
	}
}

func (c *conn) HandleEvent(fd int, ev Event) {
	if ev&Hangup != 0 {
		c.hangup = true
		c.note("hangup")
	}
}

func (c *conn) HandleRecv(fd int, data []byte, err error) {
	switch {
	case err != nil:
		c.note("error")
	case len(data) == 0:
		c.eof = true
		c.note("eof")
	default:
		c.recv = append(c.recv, data...)
		if c.onRecv != nil {
			c.onRecv(c, data)
		}
		c.note("data")
	}
}

func (c *conn) HandleSent(fd int, n int, err error) {
	if err != nil {
		c.note("send-error")
		return
	}
	c.sent += n
	c.out = c.out[n:]
	if len(c.out) > 0 {
		c.l.Send(c.fd, c.out)
		return
	}
	c.note("drained")
}

func (c *conn) send(b []byte) {
	c.out = append(c.out, b...)
	c.l.Send(c.fd, c.out)
}

func (c *conn) close() {
	c.l.RemoveHandler(c.fd)
	unix.Close(c.fd)
}

func TestUringEcho(t *testing.T) {
	l := runUring(t)
	addr := listen(t, l, func(fd int) {
		c := &conn{l: l, fd: fd, onEvent: make(chan string, 64)}
		c.onRecv = func(c *conn, data []byte) { c.send(data) }
		if err := l.AddCompletionHandler(fd, c); err != nil {
			t.Error(err)
		}
	})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			for j := 0; j < 50; j++ {
				msg := bytes.Repeat([]byte{byte('a' + i)}, 100+j)
				if _, err := nc.Write(msg); err != nil {
					t.Error(err)
					return
				}
				got := make([]byte, len(msg))
				if _, err := io.ReadFull(nc, got); err != nil || !bytes.Equal(got, msg) {
					t.Errorf("client %d round %d: echo %q, %v", i, j, got, err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
}

// TestUringLargeSendBackpressure sends far more than the socket buffers
// hold to a client that reads slowly: the loop's send waits for room, and
// every byte arrives in order.
func TestUringLargeSendBackpressure(t *testing.T) {
	l := runUring(t)
	const total = 16 << 20
	payload := make([]byte, total)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	events := make(chan string, 64)
	addr := listen(t, l, func(fd int) {
		c := &conn{l: l, fd: fd, onEvent: events}
		l.AddCompletionHandler(fd, c)
		// In pieces within one round: the pending send grows in place.
		for off := 0; off < total; off += 1 << 20 {
			c.send(payload[off : off+1<<20])
		}
	})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	got := make([]byte, 0, total)
	buf := make([]byte, 64<<10)
	for len(got) < total {
		if len(got) < 1<<20 {
			time.Sleep(time.Millisecond) // slow at first: the kernel's buffers fill
		}
		n, err := nc.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("received bytes differ from those sent")
	}
	waitFor(t, events, "drained")
}

func waitFor(t *testing.T, ch chan string, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case s := <-ch:
			if s == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %q event", want)
		}
	}
}

// TestUringPauseResume: with receiving stopped (ModifyHandler without
// Readable) nothing is delivered; resumed, everything is, in order; the
// peer's close is then reported as the end of input.
func TestUringPauseResume(t *testing.T) {
	l := runUring(t)
	var c *conn
	accepted := make(chan struct{})
	events := make(chan string, 64)
	addr := listen(t, l, func(fd int) {
		c = &conn{l: l, fd: fd, onEvent: events}
		l.AddCompletionHandler(fd, c)
		l.ModifyHandler(fd, 0)
		close(accepted)
	})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	<-accepted
	nc.Write([]byte("one,"))
	nc.Write([]byte("two,"))
	time.Sleep(100 * time.Millisecond)
	var n int
	do(l, func() { n = len(c.recv) })
	if n != 0 {
		t.Fatalf("%d bytes delivered while not receiving", n)
	}
	do(l, func() { l.ModifyHandler(c.fd, Readable) })
	nc.Write([]byte("three"))
	nc.Close()
	waitFor(t, events, "eof")
	var got string
	do(l, func() { got = string(c.recv); c.close() })
	if got != "one,two,three" {
		t.Fatalf("received %q", got)
	}
}

// TestUringHangupWhileNotReceiving: a reset of a connection that is not
// receiving reaches HandleEvent as a hang-up, as epoll reports it.
func TestUringHangupWhileNotReceiving(t *testing.T) {
	l := runUring(t)
	events := make(chan string, 64)
	accepted := make(chan *conn, 1)
	addr := listen(t, l, func(fd int) {
		c := &conn{l: l, fd: fd, onEvent: events}
		l.AddCompletionHandler(fd, c)
		l.ModifyHandler(fd, 0)
		accepted <- c
	})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := <-accepted
	nc.(*net.TCPConn).SetLinger(0)
	nc.Close() // a reset
	waitFor(t, events, "hangup")
	do(l, func() { c.close() })
}

// TestUringRemoveWithSendInFlight closes connections whose sends are still
// in the kernel's hands (the peer does not read) and checks that the
// descriptor numbers, reused at once by new connections, carry only their
// new owners' bytes.
func TestUringRemoveWithSendInFlight(t *testing.T) {
	l := runUring(t)
	big := bytes.Repeat([]byte("old!"), 4<<20)
	var mu sync.Mutex
	gen := 0
	addr := listen(t, l, func(fd int) {
		mu.Lock()
		gen++
		g := gen
		mu.Unlock()
		c := &conn{l: l, fd: fd, onEvent: make(chan string, 64)}
		l.AddCompletionHandler(fd, c)
		if g%2 == 1 {
			c.send(big) // never read: the send stays in flight
			l.AddTimer(20*time.Millisecond, false, c.close)
		} else {
			c.onRecv = func(c *conn, data []byte) { c.send(data) }
		}
	})
	for i := 0; i < 10; i++ {
		stale, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		// Wait until the server gave up on it: our read sees the end.
		stale.SetDeadline(time.Now().Add(10 * time.Second))
		for {
			if _, err := stale.Read(make([]byte, 1<<20)); err != nil {
				break
			}
		}
		stale.Close()
		fresh, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fresh.SetDeadline(time.Now().Add(10 * time.Second))
		fresh.Write([]byte("new"))
		got := make([]byte, 3)
		if _, err := io.ReadFull(fresh, got); err != nil || string(got) != "new" {
			t.Fatalf("round %d: fresh connection read %q, %v", i, got, err)
		}
		fresh.Close()
	}
}

// TestUringTimersAndPost: timers fire and posted work wakes a loop that is
// blocked in io_uring_enter with no timer due.
func TestUringTimersAndPost(t *testing.T) {
	l := runUring(t)
	fired := make(chan int, 3)
	for _, d := range []int{30, 10, 20} {
		d := d
		l.AddTimer(time.Duration(d)*time.Millisecond, false, func() { fired <- d })
	}
	for _, want := range []int{10, 20, 30} {
		if v := <-fired; v != want {
			t.Fatalf("timer %d fired before %d", v, want)
		}
	}
	l.AddTimer(time.Hour, false, func() {})
	time.Sleep(50 * time.Millisecond) // the loop is now blocked
	for i := 0; i < 100; i++ {
		ran := make(chan struct{})
		l.Post(func() { close(ran) })
		select {
		case <-ran:
		case <-time.After(10 * time.Second):
			t.Fatalf("post %d did not run", i)
		}
	}
}

func TestAddCompletionHandlerOnEpoll(t *testing.T) {
	t.Setenv(PollerEnv, "epoll")
	l := run(t)
	if l.Poller() != "epoll" || l.Completions() {
		t.Fatalf("Poller() = %q, Completions() = %v", l.Poller(), l.Completions())
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	do(l, func() { err = l.AddCompletionHandler(fds[0], &conn{}) })
	if !errors.Is(err, ErrNoCompletions) {
		t.Fatalf("AddCompletionHandler on epoll: %v, want ErrNoCompletions", err)
	}
}
