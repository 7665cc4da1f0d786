package workerman_test

import (
	"net"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/counters"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// TestResetCountsAsError: a connection the peer resets is counted under
// the close reason "error", one the peer closes under "peer", on every
// poller (the test command reruns this package on io_uring).
func TestResetCountsAsError(t *testing.T) {
	w := workerman.NewWorker("tcp://127.0.0.1:0")
	closed := make(chan struct{}, 2)
	w.OnClose = func(*workerman.Connection) { closed <- struct{}{} }
	addr := wmtest.Serve(t, w)
	read := func() (peer, reset int64) {
		wmtest.Do(func() {
			peer, reset = counters.P.Closed[counters.ClosePeer], counters.P.Closed[counters.CloseError]
		})
		return
	}
	wait := func() {
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the server did not close the connection")
		}
	}
	peer0, reset0 := read()

	c := dial(t, "tcp", addr)
	c.Write([]byte("x"))
	c.(*net.TCPConn).SetLinger(0) // close with a reset
	time.Sleep(20 * time.Millisecond)
	c.Close()
	wait()
	peer1, reset1 := read()
	if reset1-reset0 != 1 || peer1 != peer0 {
		t.Fatalf("after a reset: error %d→%d, peer %d→%d; want error +1, peer +0", reset0, reset1, peer0, peer1)
	}

	c = dial(t, "tcp", addr)
	c.Write([]byte("x"))
	time.Sleep(20 * time.Millisecond)
	c.Close()
	wait()
	peer2, reset2 := read()
	if peer2-peer1 != 1 || reset2 != reset1 {
		t.Fatalf("after a close: error %d→%d, peer %d→%d; want peer +1, error +0", reset1, reset2, peer1, peer2)
	}
}
