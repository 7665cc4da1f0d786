//go:build linux

package multihost

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The checks a multi-host environment runs: delivery by uid and group,
// and delivery across an outage of a host or of the backend.

// checkUid: a client on host a bound to "alice" receives what a client on
// host c sends to alice, once, and nobody else receives it.
func (e *env) checkUid() {
	t := e.t
	e.probe(e.sender, "touid alice", "uidprobe", []*wsClient{e.alice})
	if r, err := e.sender.call("online alice", "online alice"); err != nil || r != "online alice true" {
		t.Errorf("online alice from host c: %q, %v", r, err)
	}
	if err := e.sender.send("touid alice from-c"); err != nil {
		t.Fatal(err)
	}
	if _, skipped, err := e.alice.expect(5*time.Second, func(m string) bool { return m == "from-c" }); err != nil {
		t.Fatal(err)
	} else if len(skipped) > 0 {
		t.Errorf("alice read %q before the message", skipped)
	}
	time.Sleep(500 * time.Millisecond)
	for _, c := range e.clients {
		for len(c.msgs) > 0 {
			if m := <-c.msgs; m == "from-c" {
				t.Errorf("%s (%s) received alice's message", c.hello, c.host)
			} else if c != e.sender || m != "ok touid" {
				t.Errorf("%s (%s) received %q", c.hello, c.host, m)
			}
		}
	}
	t.Logf("%s: a message to uid alice sent on host c reached her on host a, and nobody else", e.addr)
}

// checkGroup: group "g" has a member on each process of each host; one
// message sent to it from host b reaches every member exactly once.
func (e *env) checkGroup(when string) {
	t := e.t
	var sender *wsClient
	for _, c := range e.clients {
		if c.host == "b" {
			sender = c
			break
		}
	}
	e.probe(sender, "togroup g", "groupprobe", e.clients)
	if r, err := sender.call("count g", "count g"); err != nil || r != fmt.Sprintf("count g %d", len(e.clients)) {
		t.Errorf("count g: %q, %v; want %d members", r, err, len(e.clients))
	}
	msg := "group-" + when
	if err := sender.send("togroup g " + msg); err != nil {
		t.Fatal(err)
	}
	for _, c := range e.clients {
		if _, _, err := c.expect(5*time.Second, func(m string) bool { return m == msg }); err != nil {
			t.Fatalf("%s: %v", c.hello, err)
		}
	}
	// A second copy would follow within milliseconds on this network.
	time.Sleep(500 * time.Millisecond)
	for _, c := range e.clients {
		for len(c.msgs) > 0 {
			if m := <-c.msgs; m == msg {
				t.Errorf("%s (%s) received the group message twice", c.hello, c.host)
			}
		}
	}
	t.Logf("%s (%s): %d members on 3 hosts got one copy each", e.addr, when, len(e.clients))
}

// checkOutage sends numbered messages from host c to alice on host a every
// 20 ms, brings the backend down under them (outage), and checks what the
// channel package documents for a broker that goes away: alice receives
// again within recoveryBound (her host reconnected and subscribed again),
// in order and without duplicates, and what she missed is one run of
// messages sent between shortly before the outage and her recovery;
// everything sent after it arrives.
func (e *env) checkOutage(outage func(*env) (string, time.Time)) {
	t := e.t
	type rcv struct {
		seq int
		at  time.Time
	}
	var (
		mu      sync.Mutex
		sentAt  []time.Time
		got     []rcv
		stop    = make(chan struct{})
		stopped = make(chan struct{})
		quit    = make(chan struct{}) // ends the reader
		read    = make(chan struct{})
	)
	go func() {
		defer close(stopped)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			mu.Lock()
			sentAt = append(sentAt, time.Now())
			mu.Unlock()
			e.sender.send("touid alice seq-" + strconv.Itoa(i))
			for len(e.sender.msgs) > 0 {
				<-e.sender.msgs
			}
		}
	}()
	go func() {
		defer close(read)
		for {
			select {
			case m, open := <-e.alice.msgs:
				if !open {
					return
				}
				if s, ok := strings.CutPrefix(m, "seq-"); ok {
					n, _ := strconv.Atoi(s)
					mu.Lock()
					got = append(got, rcv{n, time.Now()})
					mu.Unlock()
				}
			case <-quit:
				return
			}
		}
	}()
	received := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	time.Sleep(time.Second)
	if received() == 0 {
		close(stop)
		close(quit)
		t.Fatal("alice received none of the numbered messages before the outage")
	}
	what, t0 := outage(e)
	// Recovery: a message sent after the outage began arrives.
	var recovered time.Time
	for recovered.IsZero() {
		mu.Lock()
		for _, r := range got {
			if sentAt[r.seq].After(t0) {
				recovered = r.at
				break
			}
		}
		mu.Unlock()
		if recovered.IsZero() && time.Since(t0) > recoveryBound {
			close(stop)
			close(quit)
			t.Fatalf("%s: alice received nothing sent after it within %v", what, recoveryBound)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	close(stop)
	<-stopped
	// The last messages sent are on their way for a few milliseconds.
	time.Sleep(500 * time.Millisecond)
	close(quit)
	<-read
	mu.Lock()
	defer mu.Unlock()
	var seqs []int
	for _, r := range got {
		seqs = append(seqs, r.seq)
	}
	if !slices.IsSorted(seqs) || len(slices.Compact(slices.Clone(seqs))) != len(seqs) {
		t.Errorf("%s: alice received out of order or twice: %v", what, seqs)
	}
	// What was lost: one run, sent within [t0-1s, recovered].
	var lost []int
	have := map[int]bool{}
	for _, s := range seqs {
		have[s] = true
	}
	for i := range sentAt {
		if !have[i] {
			lost = append(lost, i)
		}
	}
	if len(lost) > 0 {
		first, last := lost[0], lost[len(lost)-1]
		if last-first+1 != len(lost) {
			t.Errorf("%s: lost messages are not one run: %v", what, lost)
		}
		if sentAt[first].Before(t0.Add(-time.Second)) || sentAt[last].After(recovered) {
			t.Errorf("%s: lost messages %d..%d sent %v..%v from the outage, outside [-1s, recovery at %v]",
				what, first, last, sentAt[first].Sub(t0), sentAt[last].Sub(t0), recovered.Sub(t0))
		}
	}
	t.Logf("%s: alice received again %v after the broker went down; %d of %d messages sent 20 ms apart lost",
		what, recovered.Sub(t0).Round(time.Millisecond), len(lost), len(sentAt))
}
