package http_test

import (
	"bufio"
	"strings"
	"testing"

	"github.com/workerman-go/workerman"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

// TestSynchronousAnswersDoNotPause checks that pipelined requests answered
// inside OnMessage are all delivered in the loop turn of the read that
// brought them: the protocol does not pause and resume reading between
// them (a resumed connection is processed again in a later turn, after
// tasks posted earlier).
func TestSynchronousAnswersDoNotPause(t *testing.T) {
	const n = 16
	req := "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	type obs struct {
		bytesRead  int64
		laterTurns int // requests delivered after the first one's turn ended
	}
	var cur *obs
	var turnEnded bool
	var results []obs
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		if cur == nil {
			cur = &obs{bytesRead: c.BytesRead()}
			turnEnded = false
			workerman.Post(func() { turnEnded = true })
		} else if turnEnded {
			cur.laterTurns++
		}
		if c.IsPaused() {
			t.Error("connection paused while a request is being answered synchronously")
		}
		c.Send("ok")
	})
	// A burst normally arrives in one read; try a few connections until
	// one does, so the check is about the protocol, not the kernel.
	for attempt := 0; attempt < 5; attempt++ {
		c := dial(t, addr)
		if _, err := c.Write([]byte(strings.Repeat(req, n))); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		for i := 0; i < n; i++ {
			if r := readResponse(t, br, "GET"); r.Body != "ok" {
				t.Fatalf("response %d: %q", i, r.Body)
			}
		}
		c.Close()
		var o obs
		wmDo(func() { o = *cur; cur = nil })
		results = append(results, o)
		if o.bytesRead != int64(n*len(req)) {
			continue // the burst was split over reads
		}
		if o.laterTurns != 0 {
			t.Fatalf("%d of %d pipelined requests were delivered in a later loop turn", o.laterTurns, n-1)
		}
		return
	}
	t.Skipf("the burst never arrived in one read: %+v", results)
}
