package workerman

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFrameRoundTrip(t *testing.T) {
	msgs := []*ctlMsg{
		{Type: "hello", Pid: 42, Version: Version},
		{Type: "reply", Seq: 7, Stats: &procStats{Connections: 3, TotalRequest: 9, SendFail: 1, Timers: 2}},
		{Type: "reply", Seq: 8, Conns: []ConnectionInfo{{Pid: 1, ID: 2, Remote: "127.0.0.1:5", State: "ESTABLISHED"}}},
		{Type: "stop", Graceful: true, IntervalMS: 2000},
	}
	var buf bytes.Buffer
	for _, m := range msgs {
		if err := writeFrame(&buf, m); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range msgs {
		got, err := readFrame(&buf)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got.Type != want.Type || got.Seq != want.Seq || got.Graceful != want.Graceful || got.Pid != want.Pid {
			t.Errorf("frame %d: got %+v, want %+v", i, got, want)
		}
	}
	if want := msgs[1].Stats; !reflect.DeepEqual(want, mustRead(t, msgs[1]).Stats) {
		t.Errorf("stats changed in transit")
	}
	if _, err := readFrame(&buf); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func mustRead(t *testing.T, m *ctlMsg) *ctlMsg {
	t.Helper()
	b, err := appendFrame(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readFrame(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestReadFrameErrors(t *testing.T) {
	huge := binary.BigEndian.AppendUint32(nil, maxCtlFrame+1)
	cut := binary.BigEndian.AppendUint32(nil, 10)
	cut = append(cut, `{"ty`...)
	for name, tc := range map[string]struct {
		in   []byte
		want error
		text string
	}{
		"too large":   {huge, errFrameTooLarge, ""},
		"cut body":    {cut, io.ErrUnexpectedEOF, ""},
		"cut header":  {[]byte{0, 0}, io.ErrUnexpectedEOF, ""},
		"not json":    {append(binary.BigEndian.AppendUint32(nil, 3), "abc"...), nil, "bad control message"},
		"no type":     {append(binary.BigEndian.AppendUint32(nil, 2), "{}"...), nil, "no type"},
		"wrong types": {append(binary.BigEndian.AppendUint32(nil, 12), `{"type":123}`...), nil, "bad control message"},
	} {
		_, err := readFrame(bytes.NewReader(tc.in))
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
		if tc.text != "" && !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v, want it to mention %q", name, err, tc.text)
		}
	}
}

func TestFrameConnOrderAndClose(t *testing.T) {
	a, b := net.Pipe()
	fc := newFrameConn(a)
	for i := 1; i <= 100; i++ {
		fc.Send(&ctlMsg{Type: "n", Seq: uint64(i)})
	}
	b.SetDeadline(time.Now().Add(10 * time.Second))
	for i := 1; i <= 100; i++ {
		m, err := readFrame(b)
		if err != nil {
			t.Fatal(err)
		}
		if m.Seq != uint64(i) {
			t.Fatalf("frame %d arrived as %d", i, m.Seq)
		}
	}
	fc.Close()
	fc.Send(&ctlMsg{Type: "late"}) // dropped, never blocks
	if _, err := readFrame(b); err == nil {
		t.Error("read after close succeeded")
	}
}

func FuzzReadFrame(f *testing.F) {
	for _, m := range []*ctlMsg{
		{Type: "hello"},
		{Type: "reply", Seq: 3, Stats: &procStats{Connections: 1}},
		{Type: "status", Status: &StatusReport{Version: Version, Processes: []ProcessStatus{{Pid: 1}}}},
	} {
		b, _ := appendFrame(nil, m)
		f.Add(b)
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 1, '{'})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		for i := 0; i < 64; i++ {
			m, err := readFrame(r)
			if err != nil {
				return
			}
			if m.Type == "" {
				t.Fatal("a message without type was accepted")
			}
			// Whatever was accepted encodes again and reads back the same way.
			b, err := appendFrame(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			m2, err := readFrame(bytes.NewReader(b))
			if err != nil || m2.Type != m.Type || m2.Seq != m.Seq {
				t.Fatalf("re-encoded %+v read back as %+v, %v", m, m2, err)
			}
		}
	})
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want command
		err  string
	}{
		{[]string{"start"}, command{name: "start"}, ""},
		{[]string{"start", "-d"}, command{name: "start", daemon: true}, ""},
		{[]string{"-d", "start"}, command{name: "start", daemon: true}, ""},
		{[]string{"stop", "-g"}, command{name: "stop", graceful: true}, ""},
		{[]string{"restart", "-d", "-g"}, command{name: "restart", daemon: true, graceful: true}, ""},
		{[]string{"reload", "-g"}, command{name: "reload", graceful: true}, ""},
		{[]string{"status", "-d", "--json"}, command{name: "status", daemon: true, json: true}, ""},
		{[]string{"connections", "--json"}, command{name: "connections", json: true}, ""},
		{[]string{"help"}, command{name: "help"}, ""},
		{[]string{"status", "-h"}, command{name: "help"}, ""},
		{nil, command{}, "no command"},
		{[]string{"-d"}, command{}, "without a command"},
		{[]string{"begin"}, command{}, `unknown command "begin"`},
		{[]string{"start", "stop"}, command{}, "two commands"},
		{[]string{"stop", "-d"}, command{}, `stop does not take "-d"`},
		{[]string{"connections", "-g"}, command{}, "connections does not take"},
		{[]string{"start", "--json"}, command{}, "start does not take"},
		{[]string{"status", "-json"}, command{}, `status does not take "-json"`},
	} {
		got, err := parseArgs(tc.args)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one containing %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v %v, want %+v", tc.args, got, err, tc.want)
		}
	}
}

func FuzzParseArgs(f *testing.F) {
	f.Add("start -d")
	f.Add("status -d --json")
	f.Add("restart -g -d")
	f.Add("stop stop")
	f.Add("")
	f.Fuzz(func(t *testing.T, line string) {
		c, err := parseArgs(strings.Fields(line))
		if err != nil {
			return
		}
		switch c.name {
		case "start", "stop", "restart", "reload", "status", "connections", "help":
		default:
			t.Fatalf("%q parsed to unknown command %q", line, c.name)
		}
		if c.daemon && c.name != "start" && c.name != "restart" && c.name != "status" {
			t.Fatalf("%q: -d accepted for %s", line, c.name)
		}
		if c.json && c.name != "status" && c.name != "connections" {
			t.Fatalf("%q: --json accepted for %s", line, c.name)
		}
	})
}

func TestParseChildInfo(t *testing.T) {
	ci, err := parseChildInfo(`{"worker":1,"id":3,"name":"web","listen":"http://0.0.0.0:80","daemon":true,"fd":true,"master":9}`)
	if err != nil || ci.Worker != 1 || ci.ID != 3 || ci.Name != "web" || !ci.Fd || !ci.Daemon || ci.Master != 9 {
		t.Fatalf("%+v %v", ci, err)
	}
	for _, bad := range []string{"", "{", `{"worker":-1}`, `{"id":-2}`, `{"worker":"x"}`, strings.Repeat(" ", 1<<17)} {
		if _, err := parseChildInfo(bad); err == nil {
			t.Errorf("%.20q accepted", bad)
		}
	}
}

func FuzzParseChildInfo(f *testing.F) {
	f.Add(`{"worker":0,"id":0,"name":"none","listen":"tcp://0.0.0.0:1","fd":true}`)
	f.Add(`{"worker":2,"id":7}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		ci, err := parseChildInfo(s)
		if err == nil && (ci.Worker < 0 || ci.ID < 0) {
			t.Fatalf("%q accepted with worker %d id %d", s, ci.Worker, ci.ID)
		}
	})
}

func TestFormatStatus(t *testing.T) {
	r := &StatusReport{
		Version: Version, GoVersion: "go1.26", EventLoop: "epoll", MasterPid: 10,
		StartTime: time.Date(2025, 1, 2, 3, 4, 5, 0, time.Local), UptimeSeconds: 2*86400 + 3*3600 + 5,
		LoadAverage: [3]float64{0.5, 1, 1.25},
		Workers: []WorkerStatus{
			{Name: "web", Listen: "http://0.0.0.0:8080", Count: 2, Exits: []ExitCount{{Status: 0, Count: 2}, {Status: 9, Signal: 9, Count: 1}}},
			{Name: "a-much-longer-worker-name", Listen: "none", Count: 1, Exits: []ExitCount{}},
		},
		Processes: []ProcessStatus{
			{Pid: 101, Worker: "web", Listen: "http://0.0.0.0:8080", MemoryBytes: 5 << 20, Connections: 3, TotalRequest: 100, QPS: 12.4, Status: "idle"},
			{Pid: 102, Worker: "web", Listen: "http://0.0.0.0:8080", MemoryBytes: 6 << 20, Connections: -1, SendFail: -1, Timers: -1, TotalRequest: -1, Status: "busy"},
			{Pid: 103, Worker: "a-much-longer-worker-name", Listen: "none", MemoryBytes: 1 << 20, Status: "idle", Retiring: true},
		},
	}
	s := formatStatus(r)
	for _, want := range []string{
		"GLOBAL STATUS", "Workerman version:" + Version, "Go version:go1.26", "start time:2025-01-02 03:04:05",
		"run 2 days 3 hours", "load average: 0.5, 1, 1.25", "event-loop:epoll", "2 workers       3 processes",
		"web                       9                1", "a-much-longer-worker-name 0                0",
		"101     5M      http://0.0.0.0:8080", "3           0         0       100           12     [idle]",
		"N/A         N/A       N/A     N/A", "[busy]", "[idle] [retiring]",
		"Summary 12M", "[Summary]",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("status lacks %q:\n%s", want, s)
		}
	}
}

func TestFormatConnectionsAndBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 1024: "1024B", 1536: "1.5KB", 1 << 20: "1024KB", 3 << 20: "3MB", 1 << 30: "1024MB", 5 << 30: "5GB", 5<<40 + 1: "5TB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
	s := formatConnections([]ConnectionInfo{{Pid: 7, Worker: "a-worker-name-longer-than-fourteen", ID: 3, Transport: "tcp", Protocol: "websocket",
		IPv4: true, BytesRead: 2048, State: "ESTABLISHED", Local: "127.0.0.1:80", Remote: "127.0.0.1:5555"}})
	for _, want := range []string{"WORKERMAN CONNECTION STATUS", "Foreign Address", "a-worker-nam..", "websocket", " 1     ", "2KB", "ESTABLISHED", "127.0.0.1:5555"} {
		if !strings.Contains(s, want) {
			t.Errorf("connections lacks %q:\n%s", want, s)
		}
	}
}

func TestStartTable(t *testing.T) {
	w := &Worker{Name: "websocket-server", Count: 4, Transport: "tcp", socketName: "websocket://0.0.0.0:8484", User: "www-data"}
	idle := &Worker{Name: "timer", Count: 1, socketName: ""}
	s := startTable([]*Worker{w, idle})
	for _, want := range []string{" WORKERMAN ", " WORKERS ", "Workerman version:" + Version, "Event-loop:epoll",
		"proto", "user", "worker", "listen", "processes", "state",
		"tcp     www-data", "websocket-server", "websocket://0.0.0.0:8484", "4", "[OK]", "none"} {
		if !strings.Contains(s, want) {
			t.Errorf("start table lacks %q:\n%s", want, s)
		}
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines[0]) != len(lines[len(lines)-1]) {
		t.Errorf("rules of different widths:\n%s", s)
	}
}

func TestProtocolName(t *testing.T) {
	if got := protocolName(nil, "tcp"); got != "tcp" {
		t.Errorf("nil protocol: %q", got)
	}
	if got := protocolName(Text, "tcp"); got != "text" {
		t.Errorf("Text: %q", got)
	}
	if got := protocolName(unregistered{}, "tcp"); got != "unregistered" {
		t.Errorf("unregistered: %q", got)
	}
	// A protocol type that cannot be compared must not panic.
	if got := protocolName(uncomparable{f: []int{1}}, "tcp"); got != "uncomparable" {
		t.Errorf("uncomparable: %q", got)
	}
}

type unregistered struct{}

func (unregistered) Input([]byte, *Connection) (int, error)                { return 0, nil }
func (unregistered) Decode([]byte, *Connection) (any, error)               { return nil, nil }
func (unregistered) Encode(d []byte, _ any, _ *Connection) ([]byte, error) { return d, nil }

type uncomparable struct{ f []int }

func (uncomparable) Input([]byte, *Connection) (int, error)                { return 0, nil }
func (uncomparable) Decode([]byte, *Connection) (any, error)               { return nil, nil }
func (uncomparable) Encode(d []byte, _ any, _ *Connection) ([]byte, error) { return d, nil }

func TestResolvePaths(t *testing.T) {
	old := PidFile
	defer func() { PidFile = old }()
	PidFile = "/run/app/app.pid"
	p, err := resolvePaths()
	if err != nil || p.sock != "/run/app/app.sock" || p.log != "/run/app/app.log" {
		t.Errorf("%+v %v", p, err)
	}
	PidFile = "/" + strings.Repeat("d", 120) + "/x.pid"
	if _, err := resolvePaths(); err == nil || !strings.Contains(err.Error(), "shorter PidFile") {
		t.Errorf("long path: %v", err)
	}
	PidFile = ""
	p, err = resolvePaths()
	if err != nil || !strings.HasSuffix(p.pid, ".pid") || !strings.HasSuffix(p.sock, ".sock") || len(p.sock) > 107 {
		t.Errorf("default: %+v %v", p, err)
	}
	if p2, _ := resolvePaths(); p2 != p {
		t.Errorf("default paths differ between calls: %+v %+v", p, p2)
	}
}
