//go:build linux

package multihost

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman/internal/netns"
)

// TestWebchat runs the demonstration server (examples/webchat) on hosts a,
// b and c with the one setting the README gives for several hosts,
// WEBCHAT_CHANNEL, on each backend: a browser-side user on host a reads
// what a user on host c says in the room, and the other way round.
func TestWebchat(t *testing.T) {
	requireNetns(t)
	if err := netns.Sweep(); err != nil {
		t.Logf("sweeping namespaces left by earlier runs: %v", err)
	}
	b := build(t)
	const port = 8080 // HTTP; WebSocket on 8081
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			e := newNet(ctx, t, b, be)
			for _, h := range []*netns.Host{e.a, e.b, e.c} {
				e.run(h, "webchat-"+h.Name, []string{
					"WEBCHAT_CHANNEL=" + e.addr,
					"WEBCHAT_HOST=" + h.IP,
					"WEBCHAT_PORT=" + strconv.Itoa(port),
					"WEBCHAT_PIDFILE=" + filepath.Join(e.dir, "webchat-"+h.Name+".pid"),
				}, e.bins.webchat, "start")
			}
			users := map[string]*wsClient{}
			for _, h := range []*netns.Host{e.a, e.c} {
				addr := h.Addr(port + 1)
				e.waitPort(h, addr)
				c, err := dialWS(ctx, h, addr, "you are guestc")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(c.close)
				users[h.Name] = c
			}
			// Each says numbered lines until the other has read one
			// (the room's subscriptions are made asynchronously), then a
			// last line that the other must read.
			for _, pair := range [][2]string{{"c", "a"}, {"a", "c"}} {
				from, to := users[pair[0]], users[pair[1]]
				e.probe(from, "", "probe-from-"+pair[0], []*wsClient{to})
				line := "hello from host " + pair[0]
				if err := from.send(line); err != nil {
					t.Fatal(err)
				}
				if _, _, err := to.expect(5*time.Second, func(m string) bool {
					return strings.HasSuffix(m, ": "+line) && strings.HasPrefix(m, from.name())
				}); err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %q said on host %s reached host %s", e.addr, line, pair[0], pair[1])
			}
		})
	}
}

// name is a webchat user's name, from the greeting "you are NAME; ...".
func (c *wsClient) name() string {
	n, _, _ := strings.Cut(strings.TrimPrefix(c.hello, "you are "), ";")
	return n
}
