package main

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/lxzan/gws"
)

// The deflate test: chat-like traffic (JSON messages of about 100 bytes,
// similar to each other) echoed by workerman with permessage-deflate,
// each message compressed on its own or with context takeover. The
// clients are gws clients that offer context takeover in both directions.

func chatMessage(conn, i int) []byte {
	names := []string{"alice", "bob", "carol", "dave", "erin"}
	words := []string{"hello everyone", "how is the release going", "the meeting is at noon", "see you there", "thanks!", "lunch?", "I pushed the fix", "tests are green again"}
	return []byte(`{"type":"message","room":"general","from":"` + names[(conn+i)%5] + `","time":` + strconv.Itoa(1764633600+7*i) +
		`,"text":"` + words[(conn*3+i)%len(words)] + `"}`)
}

type gwsEcho struct {
	gws.BuiltinEventHandler
	ch chan []byte
}

func (h *gwsEcho) OnMessage(c *gws.Conn, m *gws.Message) {
	h.ch <- bytes.Clone(m.Bytes())
	m.Close()
}

func deflateRun(conns, msgs int) {
	fmt.Printf("deflate: %d gws client connections offering context takeover, each echoing %d chat messages of about 100 bytes\n", conns, msgs)
	fmt.Printf("%-27s %14s %14s %12s %16s %16s\n", "server", "payload bytes", "server wrote", "wire/payload", "heap bytes/conn", "CPU us/msg")
	for _, impl := range []string{"workerman-deflate", "workerman-takeover"} {
		s := startServer(impl)
		idle := s.stats(true)
		type client struct {
			c *gws.Conn
			h *gwsEcho
		}
		cs := make([]client, conns)
		for i := range cs {
			h := &gwsEcho{ch: make(chan []byte, 1)}
			c, _, err := gws.NewClient(h, &gws.ClientOption{
				Addr: "ws://" + s.addr + "/",
				PermessageDeflate: gws.PermessageDeflate{
					Enabled: true, ServerContextTakeover: true, ClientContextTakeover: true, Threshold: 1,
				},
			})
			if err != nil {
				panic(err)
			}
			go c.ReadLoop()
			cs[i] = client{c, h}
		}
		before := s.stats(false)
		payload := 0
		for i := range msgs {
			for k, cl := range cs {
				m := chatMessage(k, i)
				payload += len(m)
				if err := cl.c.WriteMessage(gws.OpcodeText, m); err != nil {
					panic(err)
				}
			}
			for k, cl := range cs {
				select {
				case got := <-cl.h.ch:
					if !bytes.Equal(got, chatMessage(k, i)) {
						panic("wrong echo")
					}
				case <-time.After(time.Minute):
					panic("no echo")
				}
			}
		}
		after := s.stats(false)
		held := s.stats(true)
		fmt.Printf("%-27s %14d %14d %12.3f %16.0f %16.1f\n", impl, payload, after.wchar-before.wchar,
			float64(after.wchar-before.wchar)/float64(payload), float64(held.heap-idle.heap)/float64(conns),
			float64((after.cpu-before.cpu).Microseconds())/float64(conns*msgs))
		for _, cl := range cs {
			cl.c.WriteClose(1000, nil)
		}
		s.stop()
	}
}
