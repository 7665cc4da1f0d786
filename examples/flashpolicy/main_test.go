package main

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/workerman-go/workerman/internal/wmtest"
)

// TestPolicyFile asks for the policy file as Flash does, on a free port
// instead of 843, in one packet and split in two.
func TestPolicyFile(t *testing.T) {
	addr := wmtest.Serve(t, newPolicyServer("tcp://127.0.0.1:0"))
	for _, parts := range [][]string{
		{"<policy-file-request/>\x00"},
		{"<policy-file-", "request/>\x00"},
	} {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		for i, p := range parts {
			if i > 0 {
				// The first half is surely read alone.
				time.Sleep(100 * time.Millisecond)
			}
			if _, err := c.Write([]byte(p)); err != nil {
				t.Fatalf("write part %d: %v", i+1, err)
			}
		}
		// The server closes after the policy: read to the end.
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != Policy+"\x00" {
			t.Fatalf("got %q", got)
		}
	}
}
