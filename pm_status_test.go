//go:build linux

package workerman_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
)

// The status and connections commands.

func testStatusAndConnections(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	locals := map[string]bool{}
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", s.addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		c.Write([]byte("ping\n"))
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		locals[c.LocalAddr().String()] = true
	}
	r := s.status()
	if r.Version != workerman.Version || !strings.HasPrefix(r.GoVersion, "go") || r.EventLoop != "epoll" || len(r.Workers) != 1 || len(r.Processes) != 2 {
		t.Errorf("report %+v", r)
	}
	var total, reqs int64
	for _, p := range r.Processes {
		if p.Status != "idle" || p.MemoryBytes <= 0 || p.Listen != "text://"+s.addr() || p.Worker != "svc" {
			t.Errorf("process %+v", p)
		}
		total += p.Connections
		reqs += p.TotalRequest
	}
	if total != 3 || reqs != 3 {
		t.Errorf("connections %d requests %d, want 3 and 3", total, reqs)
	}
	text := s.must("status")
	for _, want := range []string{"GLOBAL STATUS", "PROCESS STATUS", "Workerman version:" + workerman.Version, "1 workers       2 processes",
		"load average:", "total_request", "[idle]", "Summary", strconv.Itoa(r.Processes[0].Pid)} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}

	var list []workerman.ConnectionInfo
	if err := json.Unmarshal([]byte(s.must("connections", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("connections --json: %+v", list)
	}
	pids := map[int]bool{}
	for _, p := range r.Processes {
		pids[p.Pid] = true
	}
	for _, c := range list {
		if !locals[c.Remote] || c.Local != s.addr() || c.Worker != "svc" || c.Protocol != "text" || c.Transport != "tcp" ||
			c.State != "ESTABLISHED" || c.BytesRead != 5 || c.BytesWritten == 0 || !c.IPv4 || !pids[c.Pid] {
			t.Errorf("connection %+v", c)
		}
	}
	text = s.must("connections")
	if !strings.Contains(text, "WORKERMAN CONNECTION STATUS") {
		t.Errorf("connections:\n%s", text)
	}
	for l := range locals {
		if !strings.Contains(text, l) {
			t.Errorf("connections does not list %s:\n%s", l, text)
		}
	}

	// A process whose loop is blocked shows as busy.
	b, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.Write([]byte("block 6000\n"))
	time.Sleep(200 * time.Millisecond)
	r = s.status()
	busy := 0
	for _, p := range r.Processes {
		if p.Status == "busy" {
			busy++
			if p.Connections != -1 || p.MemoryBytes <= 0 {
				t.Errorf("busy process %+v", p)
			}
		}
	}
	if busy != 1 {
		t.Errorf("%d busy processes, want 1: %+v", busy, r.Processes)
	}
}

func testStatusLive(t *testing.T, bins pmBins) {
	s := newSvc(t, bins.v1)
	s.startDaemon()
	f := &pmFg{done: make(chan error, 1)}
	f.cmd = exec.Command(s.bin, "status", "-d")
	f.cmd.Env = s.env
	f.cmd.Stdout = f
	f.cmd.Stderr = f
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { f.done <- f.cmd.Wait() }()
	pmWaitFor(t, "two refreshes", 30*time.Second, func() bool {
		return strings.Count(f.output(), "GLOBAL STATUS") >= 2
	})
	if !strings.Contains(f.output(), "\x1b[H\x1b[2J") || !strings.Contains(f.output(), "Press Ctrl+C to quit.") {
		t.Errorf("status -d output:\n%q", f.output())
	}
	f.cmd.Process.Signal(syscall.SIGINT)
	if code := f.wait(t); code != 0 {
		t.Errorf("status -d exit %d", code)
	}
}

// Outbound connections a worker process makes (NewAsyncTcpConnection in
// OnWorkerStart) are listed by connections too.
func testOutboundConnections(t *testing.T, bins pmBins) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	greetings := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				greetings <- line
				io.Copy(io.Discard, c)
			}()
		}
	}()
	s := newSvc(t, bins.v1, "SVC_OUTBOUND_ADDR="+ln.Addr().String())
	s.startDaemon()
	for i := 0; i < 2; i++ {
		select {
		case g := <-greetings:
			if !strings.HasPrefix(g, "hello from ") {
				t.Fatalf("greeting %q", g)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the worker processes did not connect out")
		}
	}
	var list []workerman.ConnectionInfo
	if err := json.Unmarshal([]byte(s.must("connections", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ci := range list {
		if ci.Worker == workerman.OutboundWorkerName && ci.Remote == ln.Addr().String() && ci.State == "ESTABLISHED" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("want the 2 outbound connections listed, got %+v", list)
	}
	if text := s.must("connections"); !strings.Contains(text, workerman.OutboundWorkerName) {
		t.Errorf("connections:\n%s", text)
	}
	// status counts them too: each process has its one outbound
	// connection and no client.
	r := s.status()
	if len(pmWorkerProcs(r, "svc")) != 2 {
		t.Fatalf("status lists %+v", r.Processes)
	}
	for _, p := range r.Processes {
		if p.Worker == "svc" && p.Connections != 1 {
			t.Errorf("status: process %d has %d connections, want its outbound one", p.Pid, p.Connections)
		}
	}
	s.must("stop")
}

// status lists the inner workers of each process; connections names a
// protocol by its scheme (websocket), also for a worker given a protocol
// value of its own.
func testStatusInnerAndSchemes(t *testing.T, bins pmBins) {
	base, wsPort := pmFreePorts(t, 2), pmFreePort(t)
	s := newSvc(t, bins.v1, fmt.Sprintf("SVC_INNER_BASE=%d", base), fmt.Sprintf("SVC_WS_ADDR=127.0.0.1:%d", wsPort))
	s.startDaemon()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", base+1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	c.Write([]byte("hi\n"))
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	r := s.status()
	seen := 0
	for _, p := range r.Processes {
		if p.Worker != "svc" {
			if len(p.Inner) != 0 {
				t.Errorf("process %d of %s lists inner workers %+v", p.Pid, p.Worker, p.Inner)
			}
			continue
		}
		want := workerman.InnerWorkerStatus{Name: fmt.Sprintf("inner%d", p.ID), Listen: fmt.Sprintf("text://127.0.0.1:%d", base+p.ID), Connections: p.ID}
		if len(p.Inner) != 1 || p.Inner[0] != want {
			t.Errorf("process %d: inner workers %+v, want %+v", p.Pid, p.Inner, want)
		}
		seen++
	}
	if seen != 2 {
		t.Errorf("%d svc processes", seen)
	}
	text := s.must("status")
	for id := 0; id < 2; id++ {
		if !strings.Contains(text, fmt.Sprintf("text://127.0.0.1:%d", base+id)) || !strings.Contains(text, fmt.Sprintf("inner%d", id)) {
			t.Errorf("status does not list inner%d:\n%s", id, text)
		}
	}
	if strings.Count(text, "[inner]") != 2 {
		t.Errorf("status:\n%s", text)
	}

	ws := pmDialWS(t, fmt.Sprintf("127.0.0.1:%d", wsPort))
	ws.ask(t, "hi")
	var list []workerman.ConnectionInfo
	if err := json.Unmarshal([]byte(s.must("connections", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	protocols := map[string]string{}
	for _, ci := range list {
		protocols[ci.Worker] = ci.Protocol
	}
	if protocols["ws"] != "websocket" || protocols["inner1"] != "text" {
		t.Errorf("protocols by worker %v, want websocket and text", protocols)
	}
	if text := s.must("connections"); !strings.Contains(text, "websocket") {
		t.Errorf("connections:\n%s", text)
	}
}
