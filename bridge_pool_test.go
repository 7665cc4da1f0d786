package workerman_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// poolServer is a text worker that runs each line through pool: the work
// blocks until release lets it go (or its context ends), and the reply is
// "ok <line>" or "busy" or "err <error>".
type poolServer struct {
	w       *workerman.Worker
	addr    string
	release chan struct{}
	started chan string // lines whose work has begun
	ended   chan error  // ctx.Err() of work that saw its context end
	done    atomic.Int64
}

func newPoolServer(t *testing.T, pool *workerman.AsyncPool) *poolServer {
	s := &poolServer{release: make(chan struct{}), started: make(chan string, 100), ended: make(chan error, 100)}
	s.w = workerman.NewWorker("text://127.0.0.1:0")
	s.w.OnMessage = func(c *workerman.Connection, data any) {
		line := data.(string)
		err := workerman.AsyncOn(pool, c, func(ctx context.Context) (string, error) {
			if strings.HasPrefix(line, "now") {
				return line, nil
			}
			s.started <- line
			select {
			case <-s.release:
				return line, nil
			case <-ctx.Done():
				s.ended <- ctx.Err()
				return "", ctx.Err()
			}
		}, func(v string, err error) {
			s.done.Add(1)
			// On the loop: Connections may be read without a lock.
			if _, ok := s.w.Connections[c.ID]; !ok {
				panic("done called for a connection that left the worker")
			}
			if err != nil {
				c.Send("err " + err.Error())
				return
			}
			c.Send("ok " + v)
		})
		if errors.Is(err, workerman.ErrAsyncBusy) {
			c.Send("busy")
		} else if err != nil {
			c.Send("err " + err.Error())
		}
	}
	s.addr = wmtest.Serve(t, s.w)
	return s
}

type poolConn struct {
	net.Conn
	r *bufio.Reader
}

func poolDial(t *testing.T, addr string) *poolConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &poolConn{c, bufio.NewReader(c)}
}

func (c *poolConn) send(t *testing.T, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s + "\n")); err != nil {
		t.Fatal(err)
	}
}

func (c *poolConn) read(t *testing.T) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	s, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return strings.TrimSuffix(s, "\n")
}

func poolStats(p *workerman.AsyncPool) workerman.AsyncStats {
	var s workerman.AsyncStats
	wmtest.Do(func() { s = p.Stats() })
	return s
}

func poolWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAsyncPoolDeliversOnLoop(t *testing.T) {
	pool := &workerman.AsyncPool{Workers: 4}
	s := newPoolServer(t, pool)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := poolDial(t, s.addr)
			for j := 0; j < 50; j++ {
				msg := fmt.Sprintf("now-%d-%d", i, j)
				c.send(t, msg)
				if got := c.read(t); got != "ok "+msg {
					t.Errorf("got %q, want %q", got, "ok "+msg)
					return
				}
			}
		}()
	}
	wg.Wait()
	st := poolStats(pool)
	if st.Done != 400 || st.Rejected != 0 || st.Dropped != 0 || st.Workers != 4 || st.Queue != 64 {
		t.Fatalf("stats %+v", st)
	}
	if st.Goroutines > 4 {
		t.Fatalf("%d goroutines in a pool of 4", st.Goroutines)
	}
}

// A full pool refuses at once with ErrAsyncBusy, the goroutines stay at
// Workers however many requests arrive, and the queued calls run in turn
// once the workers are free.
func TestAsyncPoolBoundsAndRefuses(t *testing.T) {
	pool := &workerman.AsyncPool{Workers: 2, Queue: 3}
	s := newPoolServer(t, pool)
	base := runtime.NumGoroutine()
	c := poolDial(t, s.addr)
	for i := 0; i < 5; i++ {
		c.send(t, fmt.Sprint("slow", i))
	}
	<-s.started
	<-s.started
	poolWait(t, "two running, three queued", func() bool {
		st := poolStats(pool)
		return st.Running == 2 && st.Queued == 3
	})
	for i := 0; i < 20; i++ {
		c.send(t, "more")
		if got := c.read(t); got != "busy" {
			t.Fatalf("request past the queue: got %q, want busy", got)
		}
	}
	if n := runtime.NumGoroutine(); n > base+2 {
		t.Errorf("goroutines grew from %d to %d with a pool of 2", base, n)
	}
	st := poolStats(pool)
	if st.Rejected != 20 || st.Goroutines != 2 {
		t.Fatalf("stats %+v", st)
	}
	close(s.release)
	got := map[string]bool{}
	for i := 0; i < 5; i++ {
		got[c.read(t)] = true
	}
	for i := 0; i < 5; i++ {
		if !got[fmt.Sprint("ok slow", i)] {
			t.Fatalf("replies %v lack ok slow%d", got, i)
		}
	}
	c.send(t, "after")
	if r := c.read(t); r != "ok after" {
		t.Fatalf("after the queue drained: %q", r)
	}
	if st := poolStats(pool); st.Done != 6 || st.RunTime <= 0 || st.WaitTime <= 0 {
		t.Fatalf("stats %+v", st)
	}
}

// When the client goes away, running work sees its context canceled,
// queued work never starts, and done is not called for either.
func TestAsyncPoolCancelsWithConnection(t *testing.T) {
	pool := &workerman.AsyncPool{Workers: 1, Queue: 4}
	s := newPoolServer(t, pool)
	c := poolDial(t, s.addr)
	c.send(t, "running")
	c.send(t, "queued1")
	c.send(t, "queued2")
	if l := <-s.started; l != "running" {
		t.Fatalf("started %q", l)
	}
	poolWait(t, "two queued", func() bool { return poolStats(pool).Queued == 2 })
	c.Close()
	select {
	case err := <-s.ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("context ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("running work was not canceled when its connection closed")
	}
	poolWait(t, "all three accounted for", func() bool {
		st := poolStats(pool)
		return st.Done == 3 && st.Dropped == 3
	})
	st := poolStats(pool)
	if st.Canceled != 2 || s.done.Load() != 0 {
		t.Fatalf("stats %+v, done called %d times", st, s.done.Load())
	}
	select {
	case l := <-s.started:
		t.Fatalf("queued work %q started for a closed connection", l)
	default:
	}
	// The pool serves the next client.
	c2 := poolDial(t, s.addr)
	c2.send(t, "now")
	if r := c2.read(t); r != "ok now" {
		t.Fatalf("next client: %q", r)
	}
}

// The pool's Timeout is each call's deadline; the error reaches done.
func TestAsyncPoolTimeout(t *testing.T) {
	pool := &workerman.AsyncPool{Workers: 1, Timeout: 100 * time.Millisecond}
	s := newPoolServer(t, pool)
	c := poolDial(t, s.addr)
	c.send(t, "slow")
	c.send(t, "slow2")
	if r := c.read(t); r != "err "+context.DeadlineExceeded.Error() {
		t.Fatalf("got %q", r)
	}
	// The second waited past its deadline in the queue or ran into it.
	if r := c.read(t); r != "err "+context.DeadlineExceeded.Error() {
		t.Fatalf("got %q", r)
	}
}

// Idle goroutines exit, and a pool with none left starts one again.
func TestAsyncPoolIdleGoroutinesExit(t *testing.T) {
	defer workerman.SetAsyncIdle(20 * time.Millisecond)()
	pool := &workerman.AsyncPool{Workers: 8}
	s := newPoolServer(t, pool)
	cs := make([]*poolConn, 8)
	for i := range cs {
		cs[i] = poolDial(t, s.addr)
		cs[i].send(t, "slow")
	}
	poolWait(t, "8 running", func() bool { return poolStats(pool).Running == 8 })
	close(s.release)
	for _, c := range cs {
		if r := c.read(t); r != "ok slow" {
			t.Fatal(r)
		}
	}
	poolWait(t, "idle goroutines to exit", func() bool { return poolStats(pool).Goroutines == 0 })
	cs[0].send(t, "now")
	if r := cs[0].read(t); r != "ok now" {
		t.Fatal(r)
	}
}

// Submitting for a connection that has closed is refused.
func TestAsyncForClosedConnection(t *testing.T) {
	wmtest.Start()
	res := make(chan error, 1)
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnClose = func(c *workerman.Connection) {
		if c.Context().Err() == nil {
			res <- errors.New("Context not canceled in OnClose")
			return
		}
		res <- workerman.AsyncFor(c, func(context.Context) (int, error) { return 1, nil }, func(int, error) {
			panic("done for a closed connection")
		})
	}
	addr := wmtest.Serve(t, w)
	c := poolDial(t, addr)
	c.send(t, "x")
	c.Close()
	select {
	case err := <-res:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("AsyncFor on a closed connection: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no close")
	}
}

// A pool without a queue refuses as soon as every worker is busy.
func TestAsyncPoolNoQueue(t *testing.T) {
	pool := &workerman.AsyncPool{Workers: 1, Queue: -1}
	s := newPoolServer(t, pool)
	c := poolDial(t, s.addr)
	c.send(t, "slow")
	<-s.started
	c.send(t, "more")
	if r := c.read(t); r != "busy" {
		t.Fatalf("got %q, want busy", r)
	}
	close(s.release)
	if r := c.read(t); r != "ok slow" {
		t.Fatalf("got %q", r)
	}
	// The worker is free again (once its goroutine has posted the result
	// and gone back to waiting): the next call runs.
	for i := 0; ; i++ {
		c.send(t, "slow2")
		r := c.read(t)
		if r == "ok slow2" {
			break
		}
		if r != "busy" || i == 100 {
			t.Fatalf("got %q", r)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := poolStats(pool); st.Queue != 0 || st.Rejected < 1 || st.Goroutines != 1 {
		t.Fatalf("stats %+v", st)
	}
}
