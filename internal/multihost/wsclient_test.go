//go:build linux

package multihost

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/workerman-go/workerman/internal/netns"
)

// wsClient is a small blocking WebSocket client (RFC 6455, text frames, no
// extensions) whose socket is opened inside a host's namespace; a goroutine
// reads every text message into msgs.
type wsClient struct {
	conn  net.Conn
	msgs  chan string
	host  string // the host it connected to
	hello string // the server's greeting, such as pushnode's "hello HOST ID"
}

// dialWS connects from host h and waits for the server's first message,
// which must start with greeting.
func dialWS(ctx context.Context, h *netns.Host, addr, greeting string) (*wsClient, error) {
	conn, err := h.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", addr, key)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		conn.Close()
		return nil, fmt.Errorf("handshake with %s: %s", addr, resp.Status)
	}
	conn.SetDeadline(time.Time{})
	c := &wsClient{conn: conn, msgs: make(chan string, 4096), host: h.Name}
	go c.readLoop(br)
	select {
	case c.hello = <-c.msgs:
	case <-time.After(10 * time.Second):
		conn.Close()
		return nil, errors.New("no greeting from " + addr)
	}
	if !strings.HasPrefix(c.hello, greeting) {
		conn.Close()
		return nil, fmt.Errorf("greeting %q", c.hello)
	}
	return c, nil
}

func (c *wsClient) readLoop(br *bufio.Reader) {
	defer close(c.msgs)
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(br, hdr[:2]); err != nil {
			return
		}
		op := hdr[0] & 0x0f
		n := uint64(hdr[1] & 0x7f)
		switch n {
		case 126:
			if _, err := io.ReadFull(br, hdr[:2]); err != nil {
				return
			}
			n = uint64(binary.BigEndian.Uint16(hdr[:2]))
		case 127:
			if _, err := io.ReadFull(br, hdr[:8]); err != nil {
				return
			}
			n = binary.BigEndian.Uint64(hdr[:8])
		}
		if n > 1<<20 {
			return
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			return
		}
		switch op {
		case 1, 2:
			c.msgs <- string(p)
		case 8:
			return
		}
	}
}

// send writes one masked text frame.
func (c *wsClient) send(text string) error {
	p := []byte(text)
	f := []byte{0x81}
	switch {
	case len(p) < 126:
		f = append(f, 0x80|byte(len(p)))
	case len(p) < 1<<16:
		f = append(f, 0x80|126, byte(len(p)>>8), byte(len(p)))
	default:
		return errors.New("message too long for this client")
	}
	var mask [4]byte
	rand.Read(mask[:])
	f = append(f, mask[:]...)
	for i, b := range p {
		f = append(f, b^mask[i%4])
	}
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.conn.Write(f)
	return err
}

// expect reads messages until one satisfies ok, and returns it with the
// ones read before it.
func (c *wsClient) expect(d time.Duration, ok func(string) bool) (string, []string, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	var skipped []string
	for {
		select {
		case m, open := <-c.msgs:
			if !open {
				return "", skipped, fmt.Errorf("connection to %s closed", c.host)
			}
			if ok(m) {
				return m, skipped, nil
			}
			skipped = append(skipped, m)
		case <-timer.C:
			return "", skipped, fmt.Errorf("%s: nothing expected within %v (read %q)", c.host, d, skipped)
		}
	}
}

// call sends a command and waits for its reply, which starts with prefix.
func (c *wsClient) call(cmd, prefix string) (string, error) {
	if err := c.send(cmd); err != nil {
		return "", err
	}
	m, _, err := c.expect(10*time.Second, func(m string) bool {
		return strings.HasPrefix(m, prefix) || strings.HasPrefix(m, "err ")
	})
	if err == nil && strings.HasPrefix(m, "err ") {
		err = fmt.Errorf("%s: %s", cmd, m)
	}
	return m, err
}

func (c *wsClient) close() { c.conn.Close() }
