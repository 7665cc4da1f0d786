package http_test

import (
	"bufio"
	"fmt"
	"strings"
	"testing"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

// TestRequestsKeptAfterAnswer keeps every Request of a long pipelined
// burst (small heads, heads with bodies, chunked bodies, heads larger
// than a block) and
// checks, after all of them were answered and more arrived, that each
// still reads as it was received: requests never share or reuse bytes.
func TestRequestsKeptAfterAnswer(t *testing.T) {
	const n = 300
	var kept []*wmhttp.Request
	addr := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) {
		kept = append(kept, r)
		c.Send("ok")
	})
	var all strings.Builder
	for i := 0; i < n; i++ {
		pad := strings.Repeat("p", (i*37)%1500)
		switch {
		case i%6 == 4:
			// A chunked body is streamed: its bytes are not a request's.
			body := fmt.Sprintf("body-%d", i) + strings.Repeat("c", 300)
			fmt.Fprintf(&all, "POST /r%d HTTP/1.1\r\nHost: h%d\r\nX-Pad: %s\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", i, i, pad, len(body), body)
		case i%3 == 1:
			body := fmt.Sprintf("body-%d", i)
			fmt.Fprintf(&all, "POST /r%d HTTP/1.1\r\nHost: h%d\r\nX-Pad: %s\r\nContent-Length: %d\r\n\r\n%s", i, i, pad, len(body), body)
		default:
			fmt.Fprintf(&all, "GET /r%d?i=%d HTTP/1.1\r\nHost: h%d\r\nX-Pad: %s\r\n\r\n", i, i, i, pad)
		}
	}
	c := dial(t, addr)
	if _, err := c.Write([]byte(all.String())); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for i := 0; i < n; i++ {
		if r := readResponse(t, br, "GET"); r.Body != "ok" {
			t.Fatalf("response %d: %q", i, r.Body)
		}
	}
	wmtest.Do(func() {
		if len(kept) != n {
			t.Fatalf("%d requests, want %d", len(kept), n)
		}
		for i, r := range kept {
			pad := strings.Repeat("p", (i*37)%1500)
			if r.Path() != fmt.Sprintf("/r%d", i) || r.Header("Host") != fmt.Sprintf("h%d", i) || r.Header("X-Pad") != pad {
				t.Fatalf("request %d reads %s %s %q", i, r.Path(), r.Host(), r.Header("X-Pad"))
			}
			if i%3 == 1 {
				want := fmt.Sprintf("body-%d", i)
				if i%6 == 4 {
					want += strings.Repeat("c", 300)
				}
				if got := string(r.RawBody()); got != want {
					t.Fatalf("request %d body %q", i, got)
				}
			} else if r.Get("i") != fmt.Sprint(i) || len(r.RawBody()) != 0 {
				t.Fatalf("request %d query %q body %q", i, r.Get("i"), r.RawBody())
			}
		}
	})
}
