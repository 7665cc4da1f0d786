package channel_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/workerman-go/workerman/channel"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// TestStartupReplay restarts the server (a new one on the same address, as
// the master starts a new process) while a publisher and a subscriber are
// connected. The publisher comes back first and publishes what it queued
// during the gap; the subscriber comes back later, through a proxy that
// stays down until then. The startup window replays the gap's events to
// it, each once, in order; a second subscription after the window gets
// nothing old.
func TestStartupReplay(t *testing.T) {
	addr := freeAddr(t)
	old, _ := serveAt(t, addr, nil)
	pubAddr := freeAddr(t)
	pubProxy := newProxy(t, pubAddr, addr)
	pubProxy.up()
	subAddr := freeAddr(t)
	subProxy := newProxy(t, subAddr, addr)
	subProxy.up()

	pub := dial(t, pubAddr, nil)
	sub := dial(t, subAddr, nil)
	r := newRecorder()
	mustNil(t, sub.On("ev", r.fn("ev")))
	waitCount(t, pub, "ev", 1)
	mustNil(t, pub.Publish("ev", "before"))
	r.expect(t, "ev", "before")

	// The server goes away; both clients lose it.
	wmtest.Do(old.Worker.Stop)
	subProxy.down()
	pubProxy.down()
	waitFor(t, "both clients to see the server gone", func() bool { return !pub.Connected() && !sub.Connected() })
	for i := 0; i < 5; i++ {
		mustNil(t, pub.Publish("ev", fmt.Sprint("gap", i)))
	}

	// A fresh server, with the default window; the publisher is back first
	// and its events reach the server before the subscriber is back.
	serveAt(t, addr, func(s *channel.Server) { s.StartupReplay = 0 })
	pubProxy.up()
	waitFor(t, "the publisher back", pub.Connected)
	if n, err := pub.CountContext(context.Background(), "ev"); err != nil || n.Subscribers != 0 {
		t.Fatalf("subscribers before the subscriber is back: %+v %v", n, err)
	}
	subProxy.up()
	for i := 0; i < 5; i++ {
		r.expect(t, "ev", fmt.Sprint("gap", i))
	}
	mustNil(t, pub.Publish("ev", "live"))
	r.expect(t, "ev", "live")
	r.none(t)
}

// TestStartupReplayDisabled: with StartupReplay negative, events published
// before a client subscribes are not delivered to it.
func TestStartupReplayDisabled(t *testing.T) {
	addr := serve(t)
	pub := dial(t, addr, nil)
	mustNil(t, pub.Publish("ev", "early"))
	waitCount(t, pub, "ev", 0) // the server has read it
	sub := dial(t, addr, nil)
	r := newRecorder()
	mustNil(t, sub.On("ev", r.fn("ev")))
	waitCount(t, pub, "ev", 1)
	mustNil(t, pub.Publish("ev", "late"))
	r.expect(t, "ev", "late")
	r.none(t)
}
