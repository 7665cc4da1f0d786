package websocket_test

// Conformance tests grouped as the Autobahn|Testsuite groups its cases, from
// RFC 6455 and RFC 7692. Each runs twice over real sockets: against the
// server (a hand-written client peer talks to it) and against the ws://
// client (a hand-written server peer talks to it). The implementation
// under test echoes every message it receives.

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman/protocols/websocket"
)

const (
	opText   = websocket.OpText
	opBinary = websocket.OpBinary
	opCont   = websocket.OpContinuation
	opClose  = websocket.OpClose
	opPing   = websocket.OpPing
	opPong   = websocket.OpPong
)

func closePayload(code int, reason string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(code))
	return append(b, reason...)
}

// 1. Framing: text and binary messages of every length class, whole and
// sent in small pieces.
func TestFraming(t *testing.T) {
	forRoles(t, subject{}, func(t *testing.T, p *peer) {
		for _, n := range []int{0, 1, 125, 126, 127, 128, 65535, 65536, 200000} {
			txt := bytes.Repeat([]byte("*"), n)
			p.text(string(txt))
			p.expect(opText, txt)
			bin := bytes.Repeat([]byte{0xfe}, n)
			p.binary(bin)
			p.expect(opBinary, bin)
		}
		for _, chop := range []int{1, 2, 997} {
			msg := bytes.Repeat([]byte("chopped "), 100)
			p.sendChopped(true, opText, msg, chop)
			p.expect(opText, msg)
		}
		// Several frames in one write.
		var b []byte
		for i := range 5 {
			b = append(b, p.rawFrame(true, 0, opText, []byte{'a' + byte(i)})...)
		}
		p.write(b)
		for i := range 5 {
			p.expect(opText, []byte{'a' + byte(i)})
		}
	})
}

// 2. Pings and pongs.
func TestPingPong(t *testing.T) {
	forRoles(t, subject{}, func(t *testing.T, p *peer) {
		p.send(true, 0, opPing, nil)
		p.expect(opPong, nil)
		payload := make([]byte, 125)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		p.send(true, 0, opPing, payload)
		p.expect(opPong, payload)
		// Unsolicited pongs are ignored.
		p.send(true, 0, opPong, []byte("unsolicited"))
		p.text("after pong")
		p.expect(opText, []byte("after pong"))
		for i := range 10 {
			p.send(true, 0, opPing, []byte{byte(i)})
		}
		for i := range 10 {
			p.expect(opPong, []byte{byte(i)})
		}
		p.sendChopped(true, opPing, []byte("chopped ping"), 1)
		p.expect(opPong, []byte("chopped ping"))
	})
	t.Run("126-byte-ping", func(t *testing.T) {
		forRoles(t, subject{}, func(t *testing.T, p *peer) {
			p.send(true, 0, opPing, make([]byte, 126))
			p.expectClose(websocket.CloseProtocolError)
		})
	})
	t.Run("fragmented-ping", func(t *testing.T) {
		forRoles(t, subject{}, func(t *testing.T, p *peer) {
			p.send(false, 0, opPing, []byte("a"))
			p.send(true, 0, opCont, []byte("b"))
			p.expectClose(websocket.CloseProtocolError)
		})
	})
}

// 3. Reserved bits: without a negotiated extension any reserved bit fails
// the connection, after earlier frames were handled.
func TestReservedBits(t *testing.T) {
	for _, rsv := range []byte{0x40, 0x20, 0x10, 0x60, 0x70} {
		for _, op := range []websocket.Opcode{opText, opBinary, opPing, opClose} {
			t.Run(op.String(), func(t *testing.T) {
				forRoles(t, subject{}, func(t *testing.T, p *peer) {
					p.text("first")
					p.send(true, rsv, op, []byte("x"))
					p.send(true, 0, opPing, nil)
					p.expect(opText, []byte("first"))
					p.expectClose(websocket.CloseProtocolError)
				})
			})
		}
	}
}

// 4. Opcodes: reserved data and control opcodes fail the connection.
func TestReservedOpcodes(t *testing.T) {
	for _, op := range []websocket.Opcode{3, 4, 5, 6, 7, 11, 12, 13, 14, 15} {
		t.Run(op.String(), func(t *testing.T) {
			forRoles(t, subject{}, func(t *testing.T, p *peer) {
				p.text("first")
				p.send(true, 0, op, []byte("payload"))
				p.send(true, 0, opPing, nil)
				p.expect(opText, []byte("first"))
				p.expectClose(websocket.CloseProtocolError)
			})
		})
	}
}

// 5. Fragmentation.
func TestFragmentation(t *testing.T) {
	t.Run("valid", func(t *testing.T) {
		forRoles(t, subject{}, func(t *testing.T, p *peer) {
			p.send(false, 0, opText, []byte("frag"))
			p.send(true, 0, opCont, []byte("ment"))
			p.expect(opText, []byte("fragment"))
			// Pings between fragments are answered at once.
			p.send(false, 0, opBinary, []byte{1})
			p.send(true, 0, opPing, []byte("p1"))
			p.expect(opPong, []byte("p1"))
			p.send(false, 0, opCont, []byte{2})
			p.send(true, 0, opPong, []byte("unsolicited"))
			p.send(true, 0, opPing, []byte("p2"))
			p.expect(opPong, []byte("p2"))
			p.send(true, 0, opCont, []byte{3})
			p.expect(opBinary, []byte{1, 2, 3})
			// One-byte and empty fragments, each in its own write.
			msg := "Hello, fragmented world"
			p.send(false, 0, opText, nil)
			for i := range len(msg) {
				p.send(false, 0, opCont, []byte{msg[i]})
			}
			p.send(true, 0, opCont, nil)
			p.expect(opText, []byte(msg))
			// A big fragmented binary message.
			big := bytes.Repeat([]byte{7}, 300000)
			p.send(false, 0, opBinary, big[:100000])
			p.send(false, 0, opCont, big[100000:200000])
			p.send(true, 0, opCont, big[200000:])
			p.expect(opBinary, big)
		})
	})
	bad := map[string]func(p *peer){
		"continuation-without-start": func(p *peer) { p.send(true, 0, opCont, []byte("x")) },
		"unfinished-continuation-without-start": func(p *peer) {
			p.send(false, 0, opCont, []byte("x"))
		},
		"text-inside-fragmented": func(p *peer) {
			p.send(false, 0, opText, []byte("a"))
			p.send(true, 0, opText, []byte("b"))
		},
		"binary-inside-fragmented": func(p *peer) {
			p.send(false, 0, opBinary, []byte("a"))
			p.send(false, 0, opBinary, []byte("b"))
		},
		"continuation-after-final": func(p *peer) {
			p.send(false, 0, opText, []byte("a"))
			p.send(true, 0, opCont, []byte("b"))
			p.send(true, 0, opCont, []byte("c"))
		},
		"fragmented-close": func(p *peer) {
			p.send(false, 0, opClose, closePayload(1000, ""))
		},
	}
	for name, send := range bad {
		t.Run(name, func(t *testing.T) {
			forRoles(t, subject{}, func(t *testing.T, p *peer) {
				send(p)
				for {
					f := p.mustRead()
					if f.op == opClose {
						if code := binary.BigEndian.Uint16(f.payload); code != websocket.CloseProtocolError {
							t.Fatalf("close code %d", code)
						}
						p.expectEOF()
						return
					}
					if f.op != opText || name != "continuation-after-final" {
						t.Fatalf("unexpected %v", f)
					}
				}
			})
		})
	}
}

var validUTF8 = []string{
	"", "Hello-µ@ßöäüàá-UTF-8!!", "κόσμε", "\u0080", "\u07ff", "\u0800", "\uffff",
	"\U00010000", "\U0010ffff", "\ufeff", "\ud7ff", "\ue000", "\ufffd", "ascii only",
}

var invalidUTF8 = [][]byte{
	{0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64}, // κόσμε + surrogate + "edited"
	{0x80}, {0xbf}, {0xc0, 0xaf}, {0xe0, 0x80, 0xaf}, {0xf0, 0x80, 0x80, 0xaf}, // lone continuation, overlong
	{0xc1, 0xbf}, {0xe0, 0x9f, 0xbf}, {0xf0, 0x8f, 0xbf, 0xbf}, // overlong maxima
	{0xed, 0xa0, 0x80}, {0xed, 0xbf, 0xbf}, {0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80}, // surrogates
	{0xf4, 0x90, 0x80, 0x80}, {0xf5, 0x80, 0x80, 0x80}, {0xf8, 0x88, 0x80, 0x80, 0x80}, {0xfe}, {0xff}, // out of range
	{0xc2}, {0xe0, 0xa0}, {0xf0, 0x90, 0x80}, {'a', 0xc2}, // truncated at the end
	{0xc2, 0x41}, {0xe0, 0xa0, 0x41}, // continuation missing
}

// 6. UTF-8 handling: valid text in any fragmentation passes, invalid text
// fails with 1007, fragmented or not.
func TestUTF8(t *testing.T) {
	forRoles(t, subject{}, func(t *testing.T, p *peer) {
		for _, s := range validUTF8 {
			p.text(s)
			p.expect(opText, []byte(s))
			// Fragmented at every byte boundary.
			b := []byte(s)
			for cut := 1; cut < len(b); cut++ {
				p.send(false, 0, opText, b[:cut])
				p.send(true, 0, opCont, b[cut:])
				p.expect(opText, b)
			}
			if len(b) > 1 {
				p.send(false, 0, opText, b[:1])
				for i := 1; i < len(b)-1; i++ {
					p.send(false, 0, opCont, b[i:i+1])
				}
				p.send(true, 0, opCont, b[len(b)-1:])
				p.expect(opText, b)
			}
		}
		// Close reasons may hold any valid UTF-8.
		p.send(true, 0, opClose, closePayload(1000, "κόσμε"))
		p.expect(opClose, closePayload(1000, ""))
	})
	for i, bad := range invalidUTF8 {
		t.Run("invalid-"+string(rune('a'+i)), func(t *testing.T) {
			forRoles(t, subject{}, func(t *testing.T, p *peer) {
				p.send(true, 0, opText, bad)
				p.expectClose(websocket.CloseInvalidPayload)
			})
			forRoles(t, subject{}, func(t *testing.T, p *peer) {
				// One byte per fragment; the connection may fail before the
				// last one is written.
				p.lenient = true
				p.send(false, 0, opText, bad[:1])
				for j := 1; j < len(bad); j++ {
					p.send(false, 0, opCont, bad[j:j+1])
				}
				p.send(true, 0, opCont, nil)
				p.expectClose(websocket.CloseInvalidPayload)
			})
		})
	}
	t.Run("fail-fast", func(t *testing.T) {
		// The first fragment is valid, the second cannot be completed into
		// valid UTF-8: the connection fails before the message ends.
		forRoles(t, subject{}, func(t *testing.T, p *peer) {
			p.send(false, 0, opText, []byte("κόσμε"))
			p.send(false, 0, opCont, []byte{0xf4, 0x90})
			p.expectClose(websocket.CloseInvalidPayload)
		})
		forRoles(t, subject{}, func(t *testing.T, p *peer) {
			p.send(false, 0, opText, []byte{0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xed, 0xa0})
			p.expectClose(websocket.CloseInvalidPayload)
		})
	})
	t.Run("fail-fast-inside-a-frame", func(t *testing.T) {
		// Only the start of a long text frame arrives, and it is already
		// invalid: the connection fails without waiting for the rest.
		forRoles(t, subject{}, func(t *testing.T, p *peer) {
			payload := append([]byte("valid κόσμε then "), 0xff)
			payload = append(payload, bytes.Repeat([]byte("a"), 4000)...)
			b := p.rawFrame(true, 0, opText, payload)
			p.write(b[:len(b)-3900])
			p.expectClose(websocket.CloseInvalidPayload)
		})
		// The same in a continuation frame, the invalid byte split across
		// two writes of the frame.
		forRoles(t, subject{}, func(t *testing.T, p *peer) {
			p.send(false, 0, opText, []byte("κό"))
			payload := append([]byte("σμε"), 0xe1, 0xbd, 0x20)
			payload = append(payload, bytes.Repeat([]byte("b"), 4000)...)
			b := p.rawFrame(true, 0, opCont, payload)
			cut := len(b) - len(payload) + 7
			p.write(b[:cut])
			time.Sleep(20 * time.Millisecond)
			p.write(b[cut : cut+10])
			p.expectClose(websocket.CloseInvalidPayload)
		})
		// Valid text arriving in pieces is still delivered whole.
		forRoles(t, subject{}, func(t *testing.T, p *peer) {
			payload := bytes.Repeat([]byte("κόσμε "), 2000)
			p.sendChopped(true, opText, payload, 333)
			p.expect(opText, payload)
		})
	})
	t.Run("invalid-close-reason", func(t *testing.T) {
		forRoles(t, subject{}, func(t *testing.T, p *peer) {
			p.send(true, 0, opClose, closePayload(1000, "\xce\xba\xe1\xbd\xb9\xed\xa0\x80"))
			p.expectClose(websocket.CloseInvalidPayload)
		})
	})
}

// 7. Close handling.
func TestCloseHandling(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		forRoles(t, subject{}, func(t *testing.T, p *peer) {
			p.send(true, 0, opClose, nil)
			p.expect(opClose, nil)
			p.expectEOF()
			if ev := p.nextEvent("close"); ev.code != websocket.CloseNoStatus {
				t.Fatalf("close code seen by the application %d", ev.code)
			}
		})
	})
	t.Run("data-after-close-ignored", func(t *testing.T) {
		forRoles(t, subject{}, func(t *testing.T, p *peer) {
			p.write(append(append(p.rawFrame(true, 0, opClose, closePayload(1000, "bye")),
				p.rawFrame(true, 0, opText, []byte("late"))...),
				p.rawFrame(true, 0, opPing, nil)...))
			p.expect(opClose, closePayload(1000, ""))
			p.expectEOF()
		})
	})
	t.Run("close-inside-fragmented", func(t *testing.T) {
		forRoles(t, subject{}, func(t *testing.T, p *peer) {
			p.send(false, 0, opText, []byte("part"))
			p.send(true, 0, opClose, closePayload(1000, ""))
			p.expect(opClose, closePayload(1000, ""))
			p.expectEOF()
		})
	})
	t.Run("one-byte-payload", func(t *testing.T) {
		forRoles(t, subject{}, func(t *testing.T, p *peer) {
			p.send(true, 0, opClose, []byte{0x03})
			p.expectClose(websocket.CloseProtocolError)
		})
	})
	t.Run("125-byte-payload", func(t *testing.T) {
		forRoles(t, subject{}, func(t *testing.T, p *peer) {
			p.send(true, 0, opClose, closePayload(1000, strings.Repeat("*", 123)))
			p.expect(opClose, closePayload(1000, ""))
		})
	})
	t.Run("126-byte-payload", func(t *testing.T) {
		forRoles(t, subject{}, func(t *testing.T, p *peer) {
			p.send(true, 0, opClose, closePayload(1000, strings.Repeat("*", 124)))
			p.expectClose(websocket.CloseProtocolError)
		})
	})
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		t.Run("valid-"+itoa(code), func(t *testing.T) {
			forRoles(t, subject{}, func(t *testing.T, p *peer) {
				p.send(true, 0, opClose, closePayload(code, "reason"))
				p.expect(opClose, closePayload(code, ""))
				p.expectEOF()
				if ev := p.nextEvent("close"); ev.code != code {
					t.Fatalf("application saw close code %d, want %d", ev.code, code)
				}
			})
		})
	}
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		t.Run("invalid-"+itoa(code), func(t *testing.T) {
			forRoles(t, subject{}, func(t *testing.T, p *peer) {
				p.send(true, 0, opClose, closePayload(code, ""))
				p.expectClose(websocket.CloseProtocolError)
			})
		})
	}
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(n)) }

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// 9. Limits: MaxPackageSize bounds frames and whole messages.
func TestLimits(t *testing.T) {
	const limit = 1 << 16
	t.Run("at-limit", func(t *testing.T) {
		forRoles(t, subject{maxPackageSize: limit}, func(t *testing.T, p *peer) {
			msg := bytes.Repeat([]byte{'x'}, limit-14)
			p.binary(msg)
			p.expect(opBinary, msg)
			// A fragmented message up to the limit.
			p.send(false, 0, opBinary, msg[:limit/2])
			p.send(true, 0, opCont, msg[limit/2:])
			p.expect(opBinary, msg)
		})
	})
	t.Run("frame-too-big", func(t *testing.T) {
		forRoles(t, subject{maxPackageSize: limit}, func(t *testing.T, p *peer) {
			// Only the header is sent: the length alone fails the frame.
			p.write(p.rawFrame(true, 0, opBinary, make([]byte, limit+1))[:14])
			p.expectClose(websocket.CloseMessageTooBig)
		})
	})
	t.Run("huge-length", func(t *testing.T) {
		forRoles(t, subject{maxPackageSize: limit}, func(t *testing.T, p *peer) {
			h := []byte{0x82, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
			if p.client {
				h[1] |= 0x80
				h = append(h, 1, 2, 3, 4)
			}
			p.write(h)
			p.expectClose(websocket.CloseMessageTooBig)
		})
	})
	t.Run("length-msb-set", func(t *testing.T) {
		forRoles(t, subject{maxPackageSize: limit}, func(t *testing.T, p *peer) {
			h := []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1}
			if p.client {
				h[1] |= 0x80
				h = append(h, 1, 2, 3, 4)
			}
			p.write(h)
			p.expectClose(websocket.CloseProtocolError)
		})
	})
	t.Run("message-too-big", func(t *testing.T) {
		forRoles(t, subject{maxPackageSize: limit}, func(t *testing.T, p *peer) {
			part := make([]byte, limit/2)
			p.send(false, 0, opBinary, part)
			p.send(false, 0, opCont, part)
			p.send(true, 0, opCont, part)
			p.expectClose(websocket.CloseMessageTooBig)
		})
	})
}

// Masking: clients must mask, servers must not.
func TestMaskingRules(t *testing.T) {
	forRoles(t, subject{}, func(t *testing.T, p *peer) {
		p.client = !p.client // send with the wrong masking
		p.text("wrongly masked")
		p.client = !p.client
		p.expectClose(websocket.CloseProtocolError)
	})
}

// 12 and 13. permessage-deflate.
func TestCompression(t *testing.T) {
	forRoles(t, subject{compression: true}, func(t *testing.T, p *peer) {
		text := strings.Repeat("compressible text ", 200)
		p.send(true, 0x40, opText, deflate([]byte(text)))
		op, got := p.readMessage()
		if op != opText || string(got) != text {
			t.Fatalf("echo of compressed text: %v %q", op, trunc(got))
		}
		bin := bytes.Repeat([]byte{1, 2, 3, 4}, 5000)
		p.send(true, 0x40, opBinary, deflate(bin))
		if op, got := p.readMessage(); op != opBinary || !bytes.Equal(got, bin) {
			t.Fatalf("echo of compressed binary: %v %d bytes", op, len(got))
		}
		// Uncompressed messages still work.
		p.text("plain")
		if op, got := p.readMessage(); op != opText || string(got) != "plain" {
			t.Fatalf("echo of plain text: %v %q", op, got)
		}
		// A compressed message in fragments, with a ping between them.
		z := deflate([]byte(text))
		p.send(false, 0x40, opText, z[:len(z)/3])
		p.send(true, 0, opPing, []byte("x"))
		p.expect(opPong, []byte("x"))
		p.send(false, 0, opCont, z[len(z)/3:2*len(z)/3])
		p.send(true, 0, opCont, z[2*len(z)/3:])
		if op, got := p.readMessage(); op != opText || string(got) != text {
			t.Fatalf("echo of fragmented compressed text: %v %q", op, trunc(got))
		}
		// Empty compressed message.
		p.send(true, 0x40, opText, deflate(nil))
		if op, got := p.readMessage(); op != opText || len(got) != 0 {
			t.Fatalf("echo of empty compressed text: %v %q", op, got)
		}
	})
	t.Run("rsv1-on-continuation", func(t *testing.T) {
		forRoles(t, subject{compression: true}, func(t *testing.T, p *peer) {
			p.send(false, 0x40, opText, deflate([]byte("abc")))
			p.send(true, 0x40, opCont, nil)
			p.expectClose(websocket.CloseProtocolError)
		})
	})
	t.Run("bomb", func(t *testing.T) {
		forRoles(t, subject{compression: true, maxPackageSize: 1 << 16}, func(t *testing.T, p *peer) {
			z := deflate(make([]byte, 10<<20)) // 10 MiB of zeros in about 10 KiB
			if len(z) > 1<<15 {
				t.Fatalf("bomb is %d bytes", len(z))
			}
			p.send(true, 0x40, opBinary, z)
			p.expectClose(websocket.CloseMessageTooBig)
		})
	})
	t.Run("corrupt", func(t *testing.T) {
		forRoles(t, subject{compression: true}, func(t *testing.T, p *peer) {
			p.send(true, 0x40, opBinary, []byte{0xff, 0xff, 0xff, 0xff, 0xff})
			p.expectClose(websocket.CloseInvalidPayload)
		})
	})
	t.Run("invalid-utf8-inside", func(t *testing.T) {
		forRoles(t, subject{compression: true}, func(t *testing.T, p *peer) {
			p.send(true, 0x40, opText, deflate([]byte{0xed, 0xa0, 0x80}))
			p.expectClose(websocket.CloseInvalidPayload)
		})
	})
}

// Close frames sent by the application, and the closing handshake.
func TestApplicationClose(t *testing.T) {
	forRoles(t, subject{onMessage: func(c *wmConn, data any) {
		c.Close(websocket.CloseFrame{Code: 4001, Reason: "bye " + data.(string)})
	}}, func(t *testing.T, p *peer) {
		p.text("tom")
		p.expect(opClose, closePayload(4001, "bye tom"))
		p.expectEOF()
	})
	_ = time.Second
}
