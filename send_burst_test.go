package workerman_test

import (
	"io"
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
	var conn *workerman.Connection
	w := workerman.NewWorker("tcp://127.0.0.1:0")
	w.OnConnect = func(c *workerman.Connection) {
		conn = c
		c.MaxSendBufferSize = 64 << 10
		rec.add("connect")
	}
	w.OnBufferFull = func(*workerman.Connection) { rec.add("full") }
	addr := wmtest.Serve(t, w)
	c := dial(t, "tcp", addr)
	rec.wait(t, "connect")

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
