package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// fragmented builds one binary message of size bytes as the masked frames
// of a client, each carrying at most frag payload bytes.
func fragmented(size, frag int) []byte {
	payload := bytes.Repeat([]byte("fragmented message "), size/19+1)[:size]
	var out []byte
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	for off := 0; off == 0 || off < size; off += frag {
		n := min(frag, size-off)
		var b0 byte
		if off == 0 {
			b0 = 0x2 // binary
		}
		if off+n == size {
			b0 |= 0x80
		}
		switch {
		case n <= 125:
			out = append(out, b0, 0x80|byte(n))
		case n <= 0xffff:
			out = append(out, b0, 0x80|126, byte(n>>8), byte(n))
		default:
			out = append(out, b0, 0x80|127)
			out = binary.BigEndian.AppendUint64(out, uint64(n))
		}
		out = append(out, key[:]...)
		for i, c := range payload[off : off+n] {
			out = append(out, c^key[i&3])
		}
	}
	return out
}

// fragEcho sends msgs messages, each given as its prepared frames, and
// reads each echo; it returns the time from the first write to the last
// echo.
func fragEcho(addr string, frames []byte, size, msgs int, mark func()) time.Duration {
	c := dial(addr)
	defer c.Close()
	c.SetReadLimit(maxMessage)
	mark()
	start := time.Now()
	for range msgs {
		if _, err := c.NetConn().Write(frames); err != nil {
			panic(err)
		}
		c.SetReadDeadline(time.Now().Add(time.Minute))
		_, b, err := c.ReadMessage()
		if err != nil {
			panic(err)
		}
		if len(b) != size {
			panic(fmt.Sprintf("echo of %d bytes, sent %d", len(b), size))
		}
	}
	return time.Since(start)
}

func ints(s string) []int {
	var v []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			panic(err)
		}
		v = append(v, n)
	}
	return v
}

// fragRun echoes large messages that arrive in small fragments: for each
// message size and fragment size, msgs messages per round (at least one),
// servers in alternating order.
func fragRun(rounds int, sizes, frags []int, bytesPerRound int) {
	fmt.Printf("fragmented echo: sizes %v in fragments of %v bytes, %d MiB per server per round, %d rounds\n", sizes, frags, bytesPerRound>>20, rounds)
	type key struct{ size, frag int }
	res := map[key]map[string][]result{}
	for _, size := range sizes {
		for _, frag := range frags {
			res[key{size, frag}] = map[string][]result{}
		}
	}
	for r := range rounds {
		order := append(slices.Clone(impls[r%len(impls):]), impls[:r%len(impls)]...)
		for _, impl := range order {
			s := startServer(impl)
			for _, size := range sizes {
				for _, frag := range frags {
					frames := fragmented(size, frag)
					msgs := max(1, bytesPerRound/size)
					var before stats
					d := fragEcho(s.addr, frames, size, msgs, func() { before = s.stats(false) })
					after := s.stats(false)
					k := key{size, frag}
					res[k][impl] = append(res[k][impl], measure(float64(msgs), d, before, after))
				}
			}
			s.stop()
		}
		fmt.Printf("round %d done\n", r+1)
	}
	for _, size := range sizes {
		for _, frag := range frags {
			report(fmt.Sprintf("%d KiB messages in %d-byte fragments", size>>10, frag), res[key{size, frag}])
		}
	}
}
