package channel

import "testing"

// FuzzBrokerNames checks that every event or queue name survives its
// escaping into one NATS subject token, that the token holds only the
// characters a subject token may, and that any token a broker delivers
// decodes without a panic.
func FuzzBrokerNames(f *testing.F) {
	for _, s := range []string{"", "news", "push.u.alice", "a b*>", "%", "%4", "%zz", "ключ\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		tok := escapeToken(name)
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; !tokenSafe(c) && c != '%' {
				t.Fatalf("token %q of %q holds %q", tok, name, c)
			}
		}
		got, ok := unescapeToken(tok)
		if !ok || got != name {
			t.Fatalf("%q: escaped %q, back %q %v", name, tok, got, ok)
		}
		// Any token decodes or is refused, without a panic.
		unescapeToken(name)
	})
}

// FuzzCountReply checks that any answer a broker delivers to a count
// parses without a panic, and that answers the clients write parse back.
func FuzzCountReply(f *testing.F) {
	f.Add([]byte{brokerCountReply, 1, 1, 3}, uint64(7), true, 3)
	f.Add([]byte{brokerCountReply}, uint64(0), false, 0)
	f.Add([]byte{brokerCountReply, 0xff, 0xff, 0xff}, uint64(1<<40), true, 1<<30)
	f.Fuzz(func(t *testing.T, p []byte, id uint64, subscribed bool, members int) {
		parseCountReply(p)
		if members < 0 || members > 1<<31 {
			return
		}
		gid, gs, gm, ok := parseCountReply(appendCountReply(nil, id, subscribed, members))
		if !ok || gid != id || gs != subscribed || gm != members {
			t.Fatalf("(%d %v %d) came back as (%d %v %d %v)", id, subscribed, members, gid, gs, gm, ok)
		}
	})
}
