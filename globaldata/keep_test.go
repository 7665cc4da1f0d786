package globaldata

import "testing"

// TestKeep: after a reconnect the link asks keep about each frame queued
// while it was down; only requests still waiting for their reply go out.
func TestKeep(t *testing.T) {
	srv := &server{addr: "test"}
	c := &Client{pending: map[uint64]*call{}}
	c.pending[7] = &call{id: 7, srv: srv, sent: true}
	frame := func(id uint64) []byte {
		return appendRequest(nil, &request{op: opSet, id: id, key: []byte("k"), val: []byte("1")})
	}
	for _, tc := range []struct {
		name  string
		frame []byte
		want  bool
	}{
		{"waiting", frame(7), true},
		{"failed already", frame(8), false},
		{"malformed", frame(7)[:5], false},
		{"bad id", []byte{0, 0, 0, 7, 'S', 0xff, 0xff}, false},
	} {
		if got := c.keep(tc.frame); got != tc.want {
			t.Errorf("%s: keep %v, want %v", tc.name, got, tc.want)
		}
	}
}
