package websocket_test

// permessage-deflate parameters against Python's websockets and Node's ws:
// every combination of context takeover and window bits below, with our
// side as server and as client, with and without ContextTakeover.

import (
	"encoding/json"
	"strings"
	"testing"
)

// deflateCases are peer parameters in RFC 7692 names, given to both peers
// as the parameters of their offer (client) or of their answer (server).
var deflateCases = []map[string]any{
	{},
	{"server_max_window_bits": 9, "client_max_window_bits": 11},
	{"client_no_context_takeover": true},
	{"server_no_context_takeover": true, "client_no_context_takeover": true},
	{"server_no_context_takeover": true},
	{"server_max_window_bits": 15, "client_max_window_bits": 15},
	{"server_max_window_bits": 12, "client_no_context_takeover": true},
	{"server_no_context_takeover": true, "client_max_window_bits": 10},
	{"server_max_window_bits": 8, "client_max_window_bits": 8},
}

func caseName(p map[string]any) string {
	if len(p) == 0 {
		return "defaults"
	}
	b, _ := json.Marshal(p)
	r := strings.NewReplacer("{", "", "}", "", "\"", "", "_context_takeover", "_ctx", "_max_window_bits", "_bits", ":true", "", ":", "=")
	return r.Replace(string(b))
}

// params returns p in JSON, for the peer scripts.
func params(p map[string]any) string {
	b, _ := json.Marshal(p)
	return string(b)
}

// checkServerAnswer checks the answer our server gave to a peer client
// that offered p.
func checkServerAnswer(t *testing.T, ext string, p map[string]any, takeover bool) {
	t.Helper()
	has := func(s string) bool { return strings.Contains(ext, s) }
	bits, limited := p["server_max_window_bits"].(int)
	wantServerNoCtx := !takeover || p["server_no_context_takeover"] == true || (limited && bits < 15)
	wantClientNoCtx := !takeover || p["client_no_context_takeover"] == true
	if !has("permessage-deflate") || has("server_no_context_takeover") != wantServerNoCtx || has("client_no_context_takeover") != wantClientNoCtx {
		t.Fatalf("answer %q to offer %v (context takeover %v)", ext, p, takeover)
	}
	if limited && !has("server_max_window_bits="+itoa(bits)) {
		t.Fatalf("answer %q does not confirm server_max_window_bits=%d", ext, bits)
	}
}

// testDeflatePeer runs every case against a peer with ContextTakeover on
// our side, and the first few without (our side then asks for no context
// takeover, so the peer's parameters matter less). window8 says the peer
// can compress with an 8-bit window (Python's zlib refuses to).
func testDeflatePeer(t *testing.T, name, script string, window8 bool) {
	for _, takeover := range []bool{false, true} {
		for i, p := range deflateCases {
			if !window8 && (p["server_max_window_bits"] == 8 || p["client_max_window_bits"] == 8) {
				continue
			}
			if !takeover && i >= 4 {
				continue
			}
			tag := caseName(p)
			if takeover {
				tag += "/takeover"
			}
			t.Run("client/"+tag, func(t *testing.T) {
				ext := runPeerClient(t, takeover, params(p), name, script)
				checkServerAnswer(t, ext, p, takeover)
			})
			t.Run("server/"+tag, func(t *testing.T) {
				ext := clientScenario(t, startPeerServer(t, params(p), name, script), takeover)
				if !takeover && !strings.Contains(ext, "server_no_context_takeover") {
					t.Fatalf("answer %q lacks the server_no_context_takeover we asked for", ext)
				}
				if takeover && len(p) == 0 && strings.Contains(ext, "no_context_takeover") {
					t.Fatalf("answer %q: no context takeover, so the test does not exercise it", ext)
				}
			})
		}
	}
}

func TestInteropDeflatePython(t *testing.T) {
	testDeflatePeer(t, requirePython(t), "testdata/peer.py", false)
}

func TestInteropDeflateNode(t *testing.T) {
	testDeflatePeer(t, requireNodeWS(t), "testdata/node/peer.js", true)
}
