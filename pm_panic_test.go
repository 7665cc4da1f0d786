//go:build linux

package workerman_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// By default a panic in a callback is recovered: the connection whose
// callback panicked is closed, the process and its other connections go
// on, and the log holds the panic with its stack. A panic in a timer ends
// only that timer's call. (testExitStatuses covers CrashOnPanic.)
func testPanicRecovered(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1, "SVC_COUNT=1")
	s.startDaemon()
	before := pmParsePong(t, s.mustAsk("ping"))

	// A client that stays connected across the panic of another.
	other, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	otherR := bufio.NewReader(other)
	other.SetDeadline(time.Now().Add(20 * time.Second))
	other.Write([]byte("ping\n"))
	if l, err := otherR.ReadString('\n'); err != nil || !strings.HasPrefix(l, "pong") {
		t.Fatalf("first ping: %q %v", l, err)
	}

	bad, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	bad.SetDeadline(time.Now().Add(20 * time.Second))
	bad.Write([]byte("panic\n"))
	if n, err := bad.Read(make([]byte, 64)); err != io.EOF {
		t.Errorf("the panicking connection: read %d bytes, %v; want it closed", n, err)
	}

	other.Write([]byte("ping\n"))
	l, err := otherR.ReadString('\n')
	if err != nil || !strings.HasPrefix(l, "pong") {
		t.Fatalf("the other connection after the panic: %q %v", l, err)
	}
	if after := pmParsePong(t, strings.TrimSpace(l)); after.pid != before.pid {
		t.Errorf("served by process %d after the panic, %d before: the process was replaced", after.pid, before.pid)
	}
	if r := s.mustAsk("panictimer"); r != "timer" {
		t.Errorf("panictimer answered %q, want the later timer's answer", r)
	}
	if after := pmParsePong(t, s.mustAsk("ping")); after.pid != before.pid {
		t.Errorf("served by process %d after the timer's panic, %d before", after.pid, before.pid)
	}
	log := s.read("svc.log")
	for _, want := range []string{"panic in a connection callback", "svc: panic on request", "panic in a callback; recovered", "svc: panic in a timer", "goroutine "} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	if ex := pmExits(t, s, "svc"); len(ex) != 0 {
		t.Errorf("a process exited: %v", ex)
	}
}
