package http

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// uploadServer answers each request with the size and hash of its body,
// read through BodyReader.
func uploadServer(t *testing.T, p *Protocol) string {
	t.Helper()
	w := workerman.NewWorker("http://127.0.0.1:0")
	w.Protocol = p
	w.OnMessage = func(c *workerman.Connection, data any) {
		r := data.(*Request)
		h := sha256.New()
		n, _ := io.Copy(h, r.BodyReader())
		c.Send(fmt.Sprintf("%d %x", n, h.Sum(nil)))
	}
	return wmtest.Serve(t, w)
}

func dialT(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// bodyStates returns, on the loop, what each connection of the process
// that is receiving a body (or waiting for one) holds.
type bodyState struct {
	streaming, inFile bool
	mem               int
	held              int64
}

func bodyStates() (out []bodyState, total int64) {
	wmtest.Do(func() {
		for st := range sweeper.conns {
			if st.phase == phaseBody && st.sink != nil {
				out = append(out, bodyState{true, st.sink.file != nil, cap(st.sink.mem), st.memHeld})
			} else if st.bodyWait {
				out = append(out, bodyState{false, false, 0, st.memHeld})
			}
		}
		total = bodyMemory
	})
	return
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if f() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func expectUpload(t *testing.T, c net.Conn, body []byte) {
	t.Helper()
	resp, err := nethttp.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	want := fmt.Sprintf("%d %x", len(body), sha256.Sum256(body))
	if resp.StatusCode != 200 || string(got) != want {
		t.Fatalf("%d %q, want %q", resp.StatusCode, got, want)
	}
}

// TestLargeBodyStraightToFile: a body announced larger than
// BodyMemoryLimit is written to its file from the first byte; no body
// memory is taken for it.
func TestLargeBodyStraightToFile(t *testing.T) {
	addr := uploadServer(t, &Protocol{BodyMemoryLimit: 4 << 10})
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	c := dialT(t, addr)
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", len(body))
	c.Write(body[:100<<10])
	waitFor(t, "the upload to start", func() bool {
		s, _ := bodyStates()
		return len(s) == 1
	})
	s, total := bodyStates()
	if !s[0].streaming || !s[0].inFile || s[0].mem != 0 || s[0].held != 0 || total != 0 {
		t.Fatalf("large upload holds %+v, process total %d", s[0], total)
	}
	c.Write(body[100<<10:])
	expectUpload(t, c, body)
	if _, total := bodyStates(); total != 0 {
		t.Fatalf("body memory %d after the upload", total)
	}
}

// TestBodyMemoryTotal: bodies kept in memory count against one total per
// process; a body that would pass it goes to a file, and the total comes
// back when the responses are out.
func TestBodyMemoryTotal(t *testing.T) {
	addr := uploadServer(t, &Protocol{BodyMemoryLimit: 2000, BodyMemoryTotal: 2500})
	body := []byte(strings.Repeat("x", 1500))
	a, b := dialT(t, addr), dialT(t, addr)
	fmt.Fprintf(a, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10])
	waitFor(t, "the first body", func() bool {
		s, _ := bodyStates()
		return len(s) == 1
	})
	if s, total := bodyStates(); s[0].inFile || s[0].held != 1500 || total != 1500 {
		t.Fatalf("first body: %+v, total %d", s[0], total)
	}
	fmt.Fprintf(b, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10])
	waitFor(t, "the second body", func() bool {
		s, _ := bodyStates()
		return len(s) == 2
	})
	s, total := bodyStates()
	var inFile int
	for _, x := range s {
		if x.inFile {
			inFile++
		}
	}
	if inFile != 1 || total != 1500 {
		t.Fatalf("two bodies over the total: %+v, total %d", s, total)
	}
	a.Write(body[10:])
	b.Write(body[10:])
	expectUpload(t, a, body)
	expectUpload(t, b, body)
	// Chunked bodies grow within the total too, then move to a file.
	c := dialT(t, addr)
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
	var sent []byte
	for i := 0; i < 10; i++ {
		chunk := bytes.Repeat([]byte{byte('a' + i)}, 500)
		sent = append(sent, chunk...)
		fmt.Fprintf(c, "%x\r\n%s\r\n", len(chunk), chunk)
	}
	io.WriteString(c, "0\r\n\r\n")
	expectUpload(t, c, sent)
	waitFor(t, "the total to come back", func() bool {
		_, total := bodyStates()
		return total == 0
	})
}
