package http_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
)

// TestBodyTimeouts: ReadHeaderTimeout covers only the head; a body, small
// or streamed, is bounded by ReadTimeout when it stalls and by
// MinBodyRate when it trickles.
func TestBodyTimeouts(t *testing.T) {
	p := &wmhttp.Protocol{
		ReadHeaderTimeout: time.Second,
		ReadTimeout:       3 * time.Second,
		MinBodyRate:       100,
		BodyMemoryLimit:   1 << 10,
	}
	addr := serve(t, p, func(c *workerman.Connection, r *wmhttp.Request) {
		c.Send("got " + string(r.RawBody()[:min(len(r.RawBody()), 10)]))
	})
	// trickle writes head, then body bytes one at a time every gap,
	// stopping after stopAfter bytes (or at the end of the body).
	trickle := func(t *testing.T, c net.Conn, head, body string, gap time.Duration, stopAfter int) {
		io.WriteString(c, head)
		go func() {
			for i := 0; i < len(body) && i < stopAfter; i++ {
				time.Sleep(gap)
				if _, err := io.WriteString(c, body[i:i+1]); err != nil {
					return
				}
			}
		}()
	}
	// expect408 checks that nothing is answered for at least quiet (the
	// head timeout has passed by then), and then 408 arrives.
	expect408 := func(t *testing.T, c net.Conn, quiet time.Duration) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(quiet))
		one := make([]byte, 1)
		if n, err := c.Read(one); n > 0 || !isTimeout(err) {
			t.Fatalf("answered before the body timeout: %q %v", one[:n], err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		all, _ := io.ReadAll(c)
		if !strings.HasPrefix(string(all), "HTTP/1.1 408 ") {
			t.Fatalf("got %q, want 408", all)
		}
	}
	small := "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n"
	smallBody := strings.Repeat("s", 100)
	large := "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n"
	largeBody := strings.Repeat("l", 100000)
	chunked := "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	chunkedBody := strings.Repeat("1\r\nc\r\n", 1000)

	t.Run("small body stalls", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr)
		trickle(t, c, small, smallBody, 10*time.Millisecond, 3)
		expect408(t, c, 3*time.Second)
	})
	t.Run("small body trickles", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr)
		trickle(t, c, small, smallBody, 500*time.Millisecond, len(smallBody))
		expect408(t, c, 3*time.Second)
	})
	t.Run("large body stalls", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr)
		trickle(t, c, large, largeBody, 10*time.Millisecond, 3)
		expect408(t, c, 3*time.Second)
	})
	t.Run("large body trickles", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr)
		trickle(t, c, large, largeBody, 300*time.Millisecond, len(largeBody))
		expect408(t, c, 3*time.Second)
	})
	t.Run("chunked body trickles", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr)
		trickle(t, c, chunked, chunkedBody, 300*time.Millisecond, len(chunkedBody))
		expect408(t, c, 3*time.Second)
	})
	t.Run("slow body within the limits", func(t *testing.T) {
		t.Parallel()
		// 20 bytes over 2 s: slower than the head timeout, but it never
		// stalls for ReadTimeout and ends within its grace period.
		c := dial(t, addr)
		body := strings.Repeat("k", 20)
		trickle(t, c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\n", body, 100*time.Millisecond, len(body))
		if r := readResponse(t, bufio.NewReader(c), "POST"); r.StatusCode != 200 || r.Body != "got kkkkkkkkkk" {
			t.Fatalf("%d %q", r.StatusCode, r.Body)
		}
	})
	t.Run("slow head", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr)
		trickle(t, c, "GET / HTTP/1.1\r\n", "Host: a\r\nX: "+strings.Repeat("x", 100), 300*time.Millisecond, 1000)
		c.SetReadDeadline(time.Now().Add(8 * time.Second))
		all, _ := io.ReadAll(c)
		if !strings.HasPrefix(string(all), "HTTP/1.1 408 ") {
			t.Fatalf("got %q, want 408", all)
		}
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
