package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/workerman-go/workerman/internal/netns"
)

// fan counts the deliveries of the message in flight.
type fan struct {
	cur    atomic.Uint64 // sequence number of the message in flight
	got    atomic.Int64
	want   int64
	done   chan time.Time
	closed atomic.Int64
}

// received handles one WebSocket message of a subscriber.
func (f *fan) received(p []byte) {
	seq, ok := parseSeq(p)
	if !ok || seq != f.cur.Load() {
		return
	}
	if f.got.Add(1) == f.want {
		select {
		case f.done <- time.Now():
		default:
		}
	}
}

// parseSeq finds "#N:" in a message: the sequence number, whatever wraps it
// (pushnode sends the text as it is, Centrifugo inside its JSON).
func parseSeq(p []byte) (uint64, bool) {
	i := bytes.IndexByte(p, '#')
	if i < 0 {
		return 0, false
	}
	var n uint64
	j := i + 1
	for ; j < len(p) && p[j] >= '0' && p[j] <= '9'; j++ {
		n = n*10 + uint64(p[j]-'0')
	}
	if j == i+1 || j >= len(p) || p[j] != ':' {
		return 0, false
	}
	return n, true
}

// message is the payload of publish seq: "#seq:" padded with x to size.
func message(seq uint64, size int) string {
	s := "#" + strconv.FormatUint(seq, 10) + ":"
	if len(s) < size {
		s += strings.Repeat("x", size-len(s))
	}
	return s
}

func dialer(h *netns.Host) *websocket.Dialer {
	return &websocket.Dialer{
		NetDialContext:   h.DialContext,
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  1024,
	}
}

// subscribe opens n connections per host, spread over the hosts' servers,
// each subscribed to the fan-out group or channel; each gets a reader
// goroutine that reports to f.
func (cl *cluster) subscribe(ctx context.Context, f *fan, perHost int) ([]*websocket.Conn, error) {
	var (
		mu    sync.Mutex
		conns []*websocket.Conn
		first error
		wg    sync.WaitGroup
	)
	jobs := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				h := cl.hosts[i%len(cl.hosts)]
				c, err := cl.subscribeOne(ctx, h, cl.wsAddrs[i%len(cl.hosts)])
				mu.Lock()
				if err != nil {
					if first == nil {
						first = err
					}
				} else {
					conns = append(conns, c)
				}
				mu.Unlock()
				if err != nil {
					continue
				}
				centrifugo := strings.HasPrefix(cl.impl, "centrifugo")
				go func() {
					defer f.closed.Add(1)
					for {
						_, p, err := c.ReadMessage()
						if err != nil {
							return
						}
						// Centrifugo pings with an empty object, alone
						// or as a line among others in one frame, and
						// disconnects a client that does not answer.
						if centrifugo && (string(p) == "{}" || bytes.HasPrefix(p, []byte("{}\n")) ||
							bytes.Contains(p, []byte("\n{}"))) {
							c.WriteMessage(websocket.TextMessage, []byte("{}"))
						}
						f.received(p)
					}
				}()
			}
		}()
	}
	for i := range perHost * len(cl.hosts) {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if first != nil {
		for _, c := range conns {
			c.Close()
		}
		return nil, first
	}
	return conns, nil
}

// subscribeOne opens one subscriber and returns once the server confirmed
// the subscription.
func (cl *cluster) subscribeOne(ctx context.Context, h *netns.Host, addr string) (*websocket.Conn, error) {
	centrifugo := strings.HasPrefix(cl.impl, "centrifugo")
	url := "ws://" + addr + "/"
	if centrifugo {
		url = "ws://" + addr + "/connection/websocket"
	}
	c, _, err := dialer(h).DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	expect := func(ok func(string) bool) error {
		for {
			_, p, err := c.ReadMessage()
			if err != nil {
				return err
			}
			if ok(string(p)) {
				return nil
			}
		}
	}
	if centrifugo {
		// Centrifugo's JSON protocol: connect, then subscribe; each reply
		// carries the command's id.
		err = c.WriteMessage(websocket.TextMessage, []byte(`{"id":1,"connect":{}}`))
		if err == nil {
			err = expect(func(m string) bool { return strings.Contains(m, `"id":1`) })
		}
		if err == nil {
			err = c.WriteMessage(websocket.TextMessage, []byte(`{"id":2,"subscribe":{"channel":"fan"}}`))
		}
		if err == nil {
			err = expect(func(m string) bool {
				if strings.Contains(m, `"error"`) {
					err = errors.New("subscribe: " + m)
					return true
				}
				return strings.Contains(m, `"id":2`)
			})
		}
	} else {
		err = expect(func(m string) bool { return strings.HasPrefix(m, "hello ") })
		if err == nil {
			err = c.WriteMessage(websocket.TextMessage, []byte("join fan"))
		}
		if err == nil {
			err = expect(func(m string) bool { return m == "ok join fan" || strings.HasPrefix(m, "err ") })
		}
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("subscriber on %s: %w", h.Name, err)
	}
	c.SetReadDeadline(time.Time{})
	return c, nil
}

// publisher sends one message to the group or channel through host h's
// server: pushnode's "togroup" over a WebSocket connection of its own, or
// Centrifugo's HTTP publish API.
type publisher struct {
	publish func(msg string) error
	close   func()
}

func (cl *cluster) publisher(ctx context.Context, h *netns.Host, addr string) (*publisher, error) {
	if strings.HasPrefix(cl.impl, "centrifugo") {
		hc := hostHTTP(h)
		url := "http://" + addr + "/api/publish"
		return &publisher{
			publish: func(msg string) error {
				body := `{"channel":"fan","data":{"m":"` + msg + `"}}`
				req, err := http.NewRequest("POST", url, strings.NewReader(body))
				if err != nil {
					return err
				}
				req.Header.Set("X-API-Key", apiKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					return err
				}
				reply, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || bytes.Contains(reply, []byte(`"error"`)) {
					return fmt.Errorf("publish: %s %s", resp.Status, reply)
				}
				return nil
			},
			close: hc.CloseIdleConnections,
		}, nil
	}
	c, _, err := dialer(h).DialContext(ctx, "ws://"+addr+"/", nil)
	if err != nil {
		return nil, err
	}
	errc := make(chan error, 1)
	go func() {
		for {
			_, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if bytes.HasPrefix(p, []byte("err ")) {
				select {
				case errc <- errors.New(string(p)):
				default:
				}
			}
		}
	}()
	return &publisher{
		publish: func(msg string) error {
			select {
			case err := <-errc:
				return err
			default:
			}
			return c.WriteMessage(websocket.TextMessage, []byte("togroup fan "+msg))
		},
		close: func() { c.Close() },
	}, nil
}

// measure is one run's figures.
type measure struct {
	rate   float64       // deliveries per second
	perCPU float64       // deliveries per server CPU-second
	p50    time.Duration // publish → last subscriber received, per publish
	p99    time.Duration
	note   string
}

// fanRun starts a cluster for impl, connects the subscribers, and measures.
func fanRun(ctx context.Context, p programs, impl string) (m measure, err error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cl, err := startCluster(ctx, p, impl)
	if err != nil {
		return m, err
	}
	defer cl.close()
	defer func() {
		if err != nil {
			err = fmt.Errorf("%s: %w%s", impl, err, cl.logTails())
		}
	}()
	perHost := *conns / len(cl.hosts)
	f := &fan{want: int64(perHost * len(cl.hosts)), done: make(chan time.Time, 1)}
	subs, err := cl.subscribe(ctx, f, perHost)
	if err != nil {
		return m, err
	}
	defer func() {
		for _, c := range subs {
			c.Close()
		}
	}()
	pub, err := cl.publisher(ctx, cl.hosts[0], cl.wsAddrs[0])
	if err != nil {
		return m, err
	}
	defer pub.close()

	var seq uint64
	// one publishes the next message and waits until every subscriber has
	// it, or until wait passes.
	one := func(wait time.Duration) (time.Duration, bool, error) {
		seq++
		f.got.Store(0)
		f.cur.Store(seq)
		select {
		case <-f.done:
		default:
		}
		t0 := time.Now()
		if err := pub.publish(message(seq, *size)); err != nil {
			return 0, false, err
		}
		select {
		case t1 := <-f.done:
			return t1.Sub(t0), true, nil
		case <-time.After(wait):
			return 0, false, nil
		}
	}
	// Subscriptions reach the other hosts asynchronously: publish until
	// one message reaches everyone, then warm up.
	for ready := false; !ready; {
		_, ok, err := one(time.Second)
		if err != nil {
			return m, err
		}
		ready = ok
		if !ready && ctx.Err() != nil {
			return m, fmt.Errorf("no publish reached all %d subscribers (%d did, %d closed)", f.want, f.got.Load(), f.closed.Load())
		}
	}
	for range *warmup {
		if _, ok, err := one(10 * time.Second); err != nil || !ok {
			return m, fmt.Errorf("warm-up publish %d: %d of %d delivered, %v", seq, f.got.Load(), f.want, err)
		}
	}
	cpu0 := cl.serverCPU()
	start := time.Now()
	lat := make([]time.Duration, 0, *publishes)
	var delivered float64
	incomplete, missing := 0, int64(0)
	for range *publishes {
		// A publish that has not reached everyone within 2 s counts what it
		// delivered, and its wait stays in the elapsed time.
		d, ok, err := one(2 * time.Second)
		if err != nil {
			return m, fmt.Errorf("publish %d: %w", seq, err)
		}
		if !ok {
			incomplete++
			missing += f.want - f.got.Load()
			delivered += float64(f.got.Load())
			continue
		}
		delivered += float64(f.want)
		lat = append(lat, d)
	}
	elapsed := time.Since(start)
	cpu, perProg := cl.cpuSince(cpu0)
	if len(lat) == 0 {
		return m, fmt.Errorf("no publish reached all %d subscribers (%d closed)", f.want, f.closed.Load())
	}
	slices.Sort(lat)
	m.rate = delivered / elapsed.Seconds()
	if cpu > 0 {
		m.perCPU = delivered / cpu.Seconds()
	}
	m.p50 = lat[len(lat)/2]
	m.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
	var progs []string
	for name, d := range perProg {
		progs = append(progs, fmt.Sprintf("%s %v", name, d.Round(time.Millisecond)))
	}
	slices.Sort(progs)
	m.note = fmt.Sprintf("%d subscribers; server CPU %v over %v: %s", f.want, cpu.Round(time.Millisecond),
		elapsed.Round(time.Millisecond), strings.Join(progs, ", "))
	if incomplete > 0 {
		// p50 and p99 are of the complete publishes only.
		m.note += fmt.Sprintf("; %d publishes did not reach everyone within 2 s (%d deliveries missing, %d subscribers disconnected)",
			incomplete, missing, f.closed.Load())
	}
	return m, nil
}
