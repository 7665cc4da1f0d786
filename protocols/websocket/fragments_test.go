package websocket_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/protocols/websocket"
)

// sendFragmented writes msg as a message of the given opcode in fragments
// of n bytes, with a ping after the first fragment.
func (p *peer) sendFragmented(op websocket.Opcode, msg []byte, n int) {
	p.t.Helper()
	var out []byte
	for off := 0; off == 0 || off < len(msg); off += n {
		end := min(off+n, len(msg))
		fop := op
		if off > 0 {
			fop = websocket.OpContinuation
		}
		out = append(out, p.rawFrame(end == len(msg), 0, fop, msg[off:end])...)
		if off == 0 {
			out = append(out, p.rawFrame(true, 0, websocket.OpPing, []byte("mid"))...)
		}
	}
	p.write(out)
}

// TestLargeFragmentedMessages: messages of megabytes in fragments of 64 B
// to 4 KiB arrive whole, in both roles, and a text message kept by the
// application stays intact while later fragmented messages are assembled.
func TestLargeFragmentedMessages(t *testing.T) {
	var mu sync.Mutex
	var kept []string
	s := subject{
		maxPackageSize: 8 << 20,
		onMessage: func(c *workerman.Connection, data any) {
			if v, ok := data.(string); ok {
				mu.Lock()
				kept = append(kept, v)
				mu.Unlock()
			}
			echo(c, data)
		},
	}
	forRoles(t, s, func(t *testing.T, p *peer) {
		mu.Lock()
		kept = nil
		mu.Unlock()
		text := bytes.Repeat([]byte("κόσμε fragment "), 70000) // about 1.1 MB
		for i, tc := range []struct {
			op   websocket.Opcode
			size int
			frag int
		}{
			{websocket.OpBinary, 3 << 20, 64},
			{websocket.OpText, len(text), 1000},
			{websocket.OpBinary, 5 << 20, 4096},
			{websocket.OpBinary, 1 << 20, 100},
			{websocket.OpBinary, 10, 3},
		} {
			msg := text
			if tc.op == websocket.OpBinary {
				msg = bytes.Repeat([]byte{byte(i), 1, 2, 3, byte(i * 7)}, tc.size/5+1)[:tc.size]
			}
			p.sendFragmented(tc.op, msg, tc.frag)
			p.expect(websocket.OpPong, []byte("mid"))
			op, got := p.readMessage()
			if op != tc.op || !bytes.Equal(got, msg) {
				t.Fatalf("message %d: got %v of %d bytes, want %v of %d", i, op, len(got), tc.op, len(msg))
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(kept) != 1 || kept[0] != string(text) {
			t.Fatalf("kept text changed after later messages (%d kept)", len(kept))
		}
	})
}
