package workerman_test

import (
	"io"
	"net"
	"slices"
	"testing"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// TestSendBurstWithinSocketRoom: a burst larger than MaxSendBufferSize,
// but not larger than the limit plus the room the socket has, made in one
// callback to a peer that reads as fast as it can, is neither found full
// nor dropped. On epoll the kernel takes most of it at once; on io_uring
// all of it waits in the buffer until the round ends, and the room the
// socket has does not count against the limit.
func TestSendBurstWithinSocketRoom(t *testing.T) {
	rec := newRecorder()
	conn, c := serveOneSender(t, rec, 64<<10)

	var room, sent int
	var failed int
	wmtest.Do(func() {
		room = workerman.SendRoom(conn)
		chunk := make([]byte, 4<<10)
		for sent < conn.MaxSendBufferSize+room/2 {
			if conn.Send(chunk) == workerman.SendFailed {
				failed++
			}
			sent += len(chunk)
		}
	})
	if room < 8<<10 {
		t.Fatalf("the socket reports room for %d bytes; want at least 8 KiB", room)
	}
	if failed > 0 {
		t.Fatalf("%d of %d sends failed (room %d, limit 64 KiB)", failed, sent/(4<<10), room)
	}
	if _, err := io.ReadFull(c, make([]byte, sent)); err != nil {
		t.Fatalf("reading the %d bytes sent: %v", sent, err)
	}
	if n := rec.count("full"); n != 0 {
		t.Fatalf("OnBufferFull fired %d times for a burst of %d bytes with room %d (events %v)", n, sent, room, rec.list())
	}
}

// TestBufferFullReportedBeforeDrop: a send buffer that a peer which does
// not read lets fill up reports OnBufferFull once, before any send is
// dropped. On io_uring it can become full between two sends: a round's
// output larger than the limit, but not by more than the socket has room
// for, is not full (TestSendBurstWithinSocketRoom); once the round has
// handed it to the kernel and the kernel holds what the socket cannot
// take, the socket's room no longer counts. The next send is then the one
// that fills the buffer, and is reported as such, as on epoll.
func TestBufferFullReportedBeforeDrop(t *testing.T) {
	rec := newRecorder()
	conn, c := serveOneSender(t, rec, 256<<10)
	c.(*net.TCPConn).SetReadBuffer(4096)

	// One round: more than the limit, and more than the socket can take.
	wmtest.Do(func() { conn.Send(make([]byte, workerman.SendRoom(conn)+128<<10)) })
	chunk := make([]byte, 64<<10)
	for i := 0; ; i++ {
		if i == 1000 {
			t.Fatalf("64 MiB sent to a peer that does not read, and no send failed (events %v)", rec.list())
		}
		var r workerman.SendResult
		wmtest.Do(func() { r = conn.Send(chunk) })
		if r == workerman.SendFailed {
			break
		}
	}
	ev := rec.list()
	full := slices.Index(ev, "full")
	drop := slices.Index(ev, "error")
	if full < 0 || full > drop {
		t.Fatalf("a send was dropped before OnBufferFull: events %v", ev)
	}
	if n := rec.count("full"); n != 1 {
		t.Fatalf("OnBufferFull fired %d times; want once (events %v)", n, ev)
	}
}

// serveOneSender serves a TCP worker whose connections have the send
// buffer limit maxSend and record "full" (OnBufferFull) and "error"
// (OnError), connects a client, and returns the server's connection and
// the client's.
func serveOneSender(t *testing.T, rec *recorder, maxSend int) (*workerman.Connection, net.Conn) {
	t.Helper()
	var conn *workerman.Connection
	w := workerman.NewWorker("tcp://127.0.0.1:0")
	w.OnConnect = func(c *workerman.Connection) {
		conn = c
		c.MaxSendBufferSize = maxSend
		rec.add("connect")
	}
	w.OnBufferFull = func(*workerman.Connection) { rec.add("full") }
	w.OnError = func(*workerman.Connection, int, string) { rec.add("error") }
	addr := wmtest.Serve(t, w)
	c := dial(t, "tcp", addr)
	rec.wait(t, "connect")
	var got *workerman.Connection
	wmtest.Do(func() { got = conn })
	return got, c
}
