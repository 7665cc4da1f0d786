package channel_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"syscall"
	"testing"
	"time"
)

// The manual's push and group examples, and what happens when a process
// of them is killed, run as real programs.

// TestExamplePush runs the manual's cluster push: WebSocket clients in
// both processes of the pusher worker, and the HTTP API of the publisher
// worker pushing to everyone and to exactly one connection.
func TestExamplePush(t *testing.T) {
	chAddr, wsAddr, httpAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	a := startApp(t, "channel-push", "-channel", chAddr, "-ws", wsAddr, "-http", httpAddr, "-count", "2")
	check := channelClient(t, chAddr)
	waitCount(t, check, "广播", 2)
	waitCount(t, check, "0", 1)
	waitCount(t, check, "1", 1)

	// Each client is greeted with its worker and connection IDs.
	type addr struct{ worker, conn int }
	ids := map[*wsClient]addr{}
	clients, _ := spreadWith(t, a, "pusher", 2, func() *wsClient {
		w := wsDial(t, wsAddr)
		g, err := w.read(15 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var id addr
		if _, err := fmt.Sscanf(g, "workerID:%d connectionID:%d connected\n", &id.worker, &id.conn); err != nil {
			t.Fatalf("greeting %q: %v", g, err)
		}
		ids[w] = id
		return w
	})
	perWorker := map[int]int{}
	for _, id := range ids {
		perWorker[id.worker]++
	}
	if perWorker[0] != 2 || perWorker[1] != 2 {
		t.Fatalf("clients per worker ID %v, want 2 and 2", perWorker)
	}

	get := func(q url.Values) {
		t.Helper()
		resp, err := http.Get("http://" + httpAddr + "/?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("GET %s: %d %q", q.Encode(), resp.StatusCode, body)
		}
	}
	get(url.Values{"content": {"hello everyone"}})
	for _, w := range clients {
		w.expect("hello everyone")
	}
	get(url.Values{}) // no content: nothing is pushed

	// To one connection of each process, then a broadcast: the target
	// gets its message before the broadcast, everyone else only the
	// broadcast.
	var targets []*wsClient
	for worker := 0; worker < 2; worker++ {
		for _, w := range clients {
			if ids[w].worker == worker {
				targets = append(targets, w)
				break
			}
		}
	}
	for _, w := range targets {
		id := ids[w]
		get(url.Values{"to_worker_id": {fmt.Sprint(id.worker)}, "to_connection_id": {fmt.Sprint(id.conn)}, "content": {fmt.Sprintf("just for %d/%d", id.worker, id.conn)}})
	}
	// A connection that does not exist: nothing is sent.
	get(url.Values{"to_worker_id": {"0"}, "to_connection_id": {"999999"}, "content": {"nobody"}})
	get(url.Values{"content": {"the end"}})
	for _, w := range clients {
		if slices.Contains(targets, w) {
			id := ids[w]
			w.expect(fmt.Sprintf("just for %d/%d", id.worker, id.conn))
		}
		w.expect("the end")
	}
	// The publisher process and the test are the Channel server's other
	// clients.
	checkStatus(t, a, chAddr, "pusher", len(clients), 2)
}

// TestExampleGroup runs the manual's group send: a message to a group
// reaches its members in both processes and nobody else, and a member
// that leaves is forgotten.
func TestExampleGroup(t *testing.T) {
	chAddr, wsAddr := freeAddr(t), freeAddr(t)
	a := startApp(t, "channel-group", "-channel", chAddr, "-listen", wsAddr, "-count", "2")
	check := channelClient(t, chAddr)
	waitCount(t, check, "send_to_group", 2)
	clients, where := spread(t, a, "none", wsAddr, 2)

	cmd := func(w *wsClient, c, group, msg string) {
		b, _ := json.Marshal(map[string]string{"cmd": c, "group_id": group, "message": msg})
		w.send(string(b))
	}
	// Group 123 has one client of each process; every client is in
	// group "all"; each has a group of its own, through which it knows
	// its joins have been done.
	var members []*wsClient
	seen := map[int]bool{}
	for _, w := range clients {
		if !seen[where[w]] {
			seen[where[w]] = true
			members = append(members, w)
			cmd(w, "add_group", "123", "")
		}
	}
	for i, w := range clients {
		cmd(w, "add_group", "all", "")
		own := fmt.Sprint("own-", i)
		cmd(w, "add_group", own, "")
		cmd(w, "send_to_group", own, "ready")
		w.expect("ready")
	}

	// One sender, so that the two messages keep their order.
	cmd(clients[len(clients)-1], "send_to_group", "123", "这个是消息")
	cmd(clients[len(clients)-1], "send_to_group", "all", "to all")
	for _, w := range clients {
		if slices.Contains(members, w) {
			w.expect("这个是消息")
		}
		w.expect("to all")
	}

	// A member leaves: the group goes on without it.
	gone := members[1]
	gone.c.Close()
	waitFor(t, "the member's connection to close", func() bool {
		for _, ci := range a.connections() {
			if ci.Remote == gone.local {
				return false
			}
		}
		return true
	})
	cmd(members[0], "send_to_group", "123", "still here")
	cmd(members[0], "send_to_group", "all", "to all again")
	for _, w := range clients {
		if w == gone {
			continue
		}
		if w == members[0] {
			w.expect("still here")
		}
		w.expect("to all again")
	}
	if r := a.status(); len(r.Processes) != 3 {
		t.Errorf("processes %+v", r.Processes)
	}
}

// TestExampleChannelServerKilled kills the Channel server process of the
// broadcast example with SIGKILL: the master starts a new one, the worker
// processes' clients reconnect and subscribe again, the WebSocket clients
// keep their connections and hear each other again, and what a client
// published while its link was down is delivered once it is back.
func TestExampleChannelServerKilled(t *testing.T) {
	chAddr, wsAddr := freeAddr(t), freeAddr(t)
	a := startApp(t, "channel-broadcast", "-channel", chAddr, "-listen", wsAddr, "-count", "2")
	check := channelClient(t, chAddr)
	waitCount(t, check, "broadcast", 2)
	// A publisher outside the program reaches the server through a proxy
	// the test takes down with the server.
	px := newProxy(t, freeAddr(t), chAddr)
	px.up()
	pub := dial(t, px.addr, nil)
	clients, _ := spread(t, a, "websocket", wsAddr, 1)
	hearAll := func(msg string) {
		t.Helper()
		for _, w := range clients {
			w.expect(msg)
		}
	}
	mustNil(t, pub.Publish("broadcast", "before"))
	hearAll("before")

	for round := 1; round <= 2; round++ {
		old := a.pids("ChannelServer")[0]
		px.down()
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the publisher to see its link down", func() bool { return !pub.Connected() })
		// Published while the link is down: queued in the client.
		for i := 0; i < 5; i++ {
			mustNil(t, pub.Publish("broadcast", fmt.Sprintf("gap %d.%d", round, i)))
		}
		var restarted int
		waitFor(t, "the master to start a new Channel server", func() bool {
			restarted = a.pids("ChannelServer")[0]
			return restarted != 0 && restarted != old
		})
		// Both worker processes subscribe again (and the test's client).
		waitCount(t, check, "broadcast", 2)
		px.up()
		for i := 0; i < 5; i++ {
			hearAll(fmt.Sprintf("gap %d.%d", round, i))
		}
		// The WebSocket clients were not disconnected, and hear each
		// other through the new server.
		clients[0].send(fmt.Sprint("after ", round))
		hearAll(fmt.Sprint("after ", round))
	}
	if st := pub.Stats(); st.Disconnects != 2 || st.Refused != 0 {
		t.Errorf("publisher stats %+v", st)
	}
	r := a.status()
	for _, w := range r.Workers {
		exits := 0
		for _, e := range w.Exits {
			exits += e.Count
			if w.Name == "ChannelServer" && e.Signal != int(syscall.SIGKILL) {
				t.Errorf("ChannelServer exit %+v", e)
			}
		}
		if want := map[string]int{"ChannelServer": 2}[w.Name]; exits != want {
			t.Errorf("worker %s: %d exits, want %d: %+v", w.Name, exits, want, w.Exits)
		}
	}
	// The test's two clients are the Channel server's other clients.
	checkStatus(t, a, chAddr, "websocket", len(clients), 2)
}

// TestExampleWorkerKilled kills one WebSocket process of the broadcast
// example: its clients lose their connections, the Channel server forgets
// its subscription, the master starts a new process that subscribes again,
// and clients of the old and the new process hear each other.
func TestExampleWorkerKilled(t *testing.T) {
	chAddr, wsAddr := freeAddr(t), freeAddr(t)
	a := startApp(t, "channel-broadcast", "-channel", chAddr, "-listen", wsAddr, "-count", "2")
	check := channelClient(t, chAddr)
	waitCount(t, check, "broadcast", 2)
	clients, where := spread(t, a, "websocket", wsAddr, 1)
	victim := a.pids("websocket")[1]
	var survivor, doomed *wsClient
	for _, w := range clients {
		if where[w] == victim {
			doomed = w
		} else {
			survivor = w
		}
	}
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, err := doomed.read(15 * time.Second); err == nil {
		t.Fatal("a client of the killed process got a message")
	}
	var fresh int
	waitFor(t, "the master to start a new process", func() bool {
		fresh = a.pids("websocket")[1]
		return fresh != 0 && fresh != victim
	})
	// The new process subscribes; the old subscription went with its
	// connection.
	waitCount(t, check, "broadcast", 2)
	// A client of the new process.
	var newcomer *wsClient
	clients, where = spread(t, a, "websocket", wsAddr, 1)
	for _, w := range clients {
		if where[w] == fresh {
			newcomer = w
		}
	}
	survivor.send("hello newcomer")
	for _, w := range append(clients, survivor) {
		w.expect("hello newcomer")
	}
	newcomer.send("hello from the new process")
	for _, w := range append(clients, survivor) {
		w.expect("hello from the new process")
	}
	for _, w := range a.status().Workers {
		if w.Name == "websocket" && (len(w.Exits) != 1 || w.Exits[0].Signal != int(syscall.SIGKILL) || w.Exits[0].Count != 1) {
			t.Errorf("websocket exits %+v", w.Exits)
		}
	}
}
