package workerman

import (
	"fmt"
	"math"
	"os"
	"os/user"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Version is the version of the framework, shown by the start table and the
// status command.
const Version = "0.1.0"

// StatusReport is what the status command shows; `status --json` prints it
// as JSON, one object per refresh.
type StatusReport struct {
	// Version is the framework version of the master.
	Version string `json:"version"`
	// GoVersion is the Go release the master was built with.
	GoVersion string `json:"go_version"`
	// EventLoop names the poller ("epoll").
	EventLoop string `json:"event_loop"`
	// MasterPid is the process id of the master.
	MasterPid int `json:"master_pid"`
	// Daemon reports whether the master runs as a daemon (start -d).
	Daemon bool `json:"daemon"`
	// StartTime is when the master started.
	StartTime time.Time `json:"start_time"`
	// UptimeSeconds is how long the master has run.
	UptimeSeconds float64 `json:"uptime_seconds"`
	// LoadAverage is the system load over 1, 5 and 15 minutes.
	LoadAverage [3]float64 `json:"load_average"`
	// Workers describes each worker and how its processes have exited.
	Workers []WorkerStatus `json:"workers"`
	// Processes describes each live worker process.
	Processes []ProcessStatus `json:"processes"`
}

// WorkerStatus is one worker of a StatusReport.
type WorkerStatus struct {
	// Name is the worker's Name.
	Name string `json:"name"`
	// Listen is the address the worker was created with, or "none".
	Listen string `json:"listen"`
	// Count is the number of processes the worker should have.
	Count int `json:"count"`
	// Reloadable is the worker's Reloadable setting.
	Reloadable bool `json:"reloadable"`
	// Exits counts the worker's process exits by wait status.
	Exits []ExitCount `json:"exits"`
}

// ExitCount counts the exits of a worker's processes with one status.
type ExitCount struct {
	// Status is the raw wait status, as Workerman shows it: 0 for a normal
	// exit (after reload or stop), the signal number for a process killed
	// by a signal (9: killed after the stop timeout, or by kill -9), and
	// exit code × 256 for a process that exited on its own with a code
	// (512: a Go panic, 256: os.Exit(1) or log.Fatal).
	Status int `json:"status"`
	// ExitCode is the process's exit code, or -1 when a signal ended it.
	ExitCode int `json:"exit_code"`
	// Signal is the signal that ended the process, or 0.
	Signal int `json:"signal"`
	// Count is how many exits had this status.
	Count int `json:"count"`
}

// ProcessStatus is one worker process of a StatusReport. A busy process
// (one whose event loop did not answer within a second, because a
// callback blocks) reports -1 for the figures only its loop knows.
type ProcessStatus struct {
	// Pid is the process id.
	Pid int `json:"pid"`
	// Worker is the name of the worker the process serves.
	Worker string `json:"worker"`
	// ID is the process's Worker.ID.
	ID int `json:"id"`
	// Listen is the worker's address, or "none".
	Listen string `json:"listen"`
	// MemoryBytes is the resident memory of the process.
	MemoryBytes int64 `json:"memory_bytes"`
	// Connections is the number of open connections: its workers' client
	// connections and the outbound connections it made (established).
	Connections int64 `json:"connections"`
	// SendFail counts sends dropped since the process started.
	SendFail int64 `json:"send_fail"`
	// Timers is the number of live timers.
	Timers int `json:"timers"`
	// TotalRequest counts the messages received since the process started.
	TotalRequest int64 `json:"total_request"`
	// QPS is the messages per second over the sampling interval.
	QPS float64 `json:"qps"`
	// Status is "idle" or "busy".
	Status string `json:"status"`
	// Retiring is true for an old process draining its connections after
	// a reload or during a stop.
	Retiring bool `json:"retiring,omitempty"`
	// Started is when the process started.
	Started time.Time `json:"started"`
	// Inner lists the workers the process listens on itself (created in
	// OnWorkerStart); unknown (empty) for a busy process.
	Inner []InnerWorkerStatus `json:"inner,omitempty"`
}

// InnerWorkerStatus is a worker that a process created and listens on
// itself, in OnWorkerStart.
type InnerWorkerStatus struct {
	// Name is the worker's Name.
	Name string `json:"name"`
	// Listen is the address the worker was created with.
	Listen string `json:"listen"`
	// Connections is the number of its open client connections (they are
	// included in the process's Connections).
	Connections int `json:"connections"`
}

// ConnectionInfo is one row of the connections command; `connections
// --json` prints a JSON array of them.
type ConnectionInfo struct {
	// Pid is the process that owns the connection.
	Pid int `json:"pid"`
	// Worker is the name of the worker that accepted it, or
	// OutboundWorkerName for a connection the process made itself
	// (NewAsyncTcpConnection).
	Worker string `json:"worker"`
	// ID is the connection's ID within its process.
	ID int `json:"id"`
	// Transport is "tcp", "unix" or "ssl".
	Transport string `json:"transport"`
	// Protocol names the connection's protocol ("tcp" for raw bytes).
	Protocol string `json:"protocol"`
	// Local and Remote are the two ends' addresses.
	Local  string `json:"local"`
	Remote string `json:"remote"`
	// IPv4 and IPv6 tell the address family of the peer.
	IPv4 bool `json:"ipv4"`
	IPv6 bool `json:"ipv6"`
	// BytesRead and BytesWritten count the bytes received and sent.
	BytesRead    int64 `json:"bytes_read"`
	BytesWritten int64 `json:"bytes_written"`
	// RecvQueue is the number of received bytes not yet decoded.
	RecvQueue int `json:"recv_queue"`
	// SendQueue is the number of bytes waiting in the send buffer.
	SendQueue int `json:"send_queue"`
	// State is ESTABLISHED, CONNECTING, CLOSING or CLOSED.
	State string `json:"state"`
}

// connectionInfo describes c for the connections command. Call it on the
// loop.
// OutboundWorkerName stands in the worker column of the connections
// command for outbound connections.
const OutboundWorkerName = "(outbound)"

func connectionInfo(c *Connection, pid int) ConnectionInfo {
	ci := ConnectionInfo{
		Pid:          pid,
		ID:           c.ID,
		Transport:    c.Transport(),
		Protocol:     connProtocolName(c),
		Local:        c.LocalAddress(),
		Remote:       c.RemoteAddress(),
		BytesRead:    c.BytesRead(),
		BytesWritten: c.BytesWritten(),
		RecvQueue:    c.RecvBufferLen(),
		SendQueue:    c.SendBufferLen(),
		State:        statusName(c.Status()),
	}
	if c.Worker != nil {
		ci.Worker = c.Worker.Name
		if c.Worker.Transport == "ssl" {
			ci.Transport = "ssl"
		}
	} else {
		ci.Worker = OutboundWorkerName
	}
	if c.Transport() == "unix" && ci.Local == "" && c.Worker != nil {
		ci.Local = c.Worker.ep.path
	}
	if c.remote.IsValid() {
		ip := c.remote.Addr()
		ci.IPv4 = ip.Unmap().Is4()
		ci.IPv6 = !ci.IPv4
	}
	return ci
}

func statusName(s int) string {
	switch s {
	case StatusInitial:
		return "INITIAL"
	case StatusConnecting:
		return "CONNECTING"
	case StatusEstablished:
		return "ESTABLISHED"
	case StatusClosing:
		return "CLOSING"
	case StatusClosed:
		return "CLOSED"
	}
	return "UNKNOWN"
}

// connProtocolName names the protocol of c: its registered name, or else
// the scheme of the address c was accepted on or connected to, when c
// still speaks that address's protocol (a worker given its own
// &websocket.Server{...} is "websocket", not "Server").
func connProtocolName(c *Connection) string {
	if c.Protocol == nil {
		return c.Transport()
	}
	if name, ok := registeredName(c.Protocol); ok {
		return name
	}
	if w := c.Worker; w != nil && w.ep.scheme != "" && sameProtocol(c.Protocol, w.Protocol) {
		return w.ep.scheme
	}
	if c.ext != nil && c.ext.async != nil {
		scheme := c.ext.async.ep.scheme
		if plain, ok := secureSchemes[scheme]; ok {
			scheme = plain
		}
		if p, ok := LookupProtocol(scheme); ok && sameType(p, c.Protocol) {
			return scheme
		}
	}
	// Another value of a registered protocol's type.
	registryMu.RLock()
	names := make([]string, 0, len(registry))
	for name := range registry {
		names = append(names, name)
	}
	registryMu.RUnlock()
	sort.Strings(names)
	for _, name := range names {
		if p, ok := LookupProtocol(name); ok && sameType(p, c.Protocol) {
			return name
		}
	}
	return protocolName(c.Protocol, c.Transport())
}

// registeredName returns the name p is registered under.
func registeredName(p Protocol) (string, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for name := range registry {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if sameProtocol(p, registry[name]) {
			return name, true
		}
	}
	return "", false
}

// sameType reports whether a and b are values of the same type.
func sameType(a, b Protocol) bool {
	return fmt.Sprintf("%T", a) == fmt.Sprintf("%T", b)
}

// protocolName finds the registered name of p, or describes its type.
func protocolName(p Protocol, transport string) string {
	if p == nil {
		return transport
	}
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for name := range registry {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		q := registry[name]
		if sameProtocol(p, q) {
			return name
		}
	}
	t := fmt.Sprintf("%T", p)
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		t = t[i+1:]
	}
	return strings.TrimPrefix(t, "*")
}

// sameProtocol compares two protocol values without panicking on types
// that cannot be compared.
func sameProtocol(a, b Protocol) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// loadAverage reads the system load.
func loadAverage() [3]float64 {
	var la [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return la
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		la[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return la
}

// processMemory returns the resident memory of a process.
func processMemory(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}

// rule centres a title in a line of dashes n wide.
func rule(title string, n int) string {
	if title == "" {
		return strings.Repeat("-", n)
	}
	left := (n - len(title)) / 2
	right := n - len(title) - left
	if left < 0 {
		left, right = 0, 0
	}
	return strings.Repeat("-", left) + title + strings.Repeat("-", right)
}

func formatMemory(b int64) string {
	return strconv.FormatFloat(math.Round(float64(b)/(1<<20)*100)/100, 'f', -1, 64) + "M"
}

func formatBytes(b int64) string {
	f := float64(b)
	switch {
	case b > 1<<40:
		return strconv.FormatFloat(math.Round(f/(1<<40)*10)/10, 'f', -1, 64) + "TB"
	case b > 1<<30:
		return strconv.FormatFloat(math.Round(f/(1<<30)*10)/10, 'f', -1, 64) + "GB"
	case b > 1<<20:
		return strconv.FormatFloat(math.Round(f/(1<<20)*10)/10, 'f', -1, 64) + "MB"
	case b > 1<<10:
		return strconv.FormatFloat(math.Round(f/(1<<10)*10)/10, 'f', -1, 64) + "KB"
	}
	return strconv.FormatInt(b, 10) + "B"
}

func figure(n int64) string {
	if n < 0 {
		return "N/A"
	}
	return strconv.FormatInt(n, 10)
}

// formatStatus renders a report as the status command prints it, in the
// layout of Workerman's status.
func formatStatus(r *StatusReport) string {
	var b strings.Builder
	nameW, listenW := 12, 12
	for _, w := range r.Workers {
		nameW = max(nameW, len(w.Name))
		listenW = max(listenW, len(w.Listen))
	}
	for _, p := range r.Processes {
		for _, in := range p.Inner {
			nameW = max(nameW, len(in.Name))
			listenW = max(listenW, len(in.Listen))
		}
	}
	const width = 113
	b.WriteString(rule("GLOBAL STATUS", width) + "\n")
	b.WriteString(pad("Workerman version:"+r.Version, 33) + "Go version:" + r.GoVersion + "\n")
	up := time.Duration(r.UptimeSeconds * float64(time.Second))
	days := int(up.Hours()) / 24
	hours := int(up.Hours()) % 24
	b.WriteString(pad("start time:"+r.StartTime.Local().Format("2006-01-02 15:04:05"), 33) +
		fmt.Sprintf("run %d days %d hours\n", days, hours))
	la := r.LoadAverage
	b.WriteString(pad(fmt.Sprintf("load average: %g, %g, %g", la[0], la[1], la[2]), 33) + "event-loop:" + r.EventLoop + "\n")
	b.WriteString(fmt.Sprintf("%d workers       %d processes\n", len(r.Workers), len(r.Processes)))
	b.WriteString(pad("worker_name", nameW) + " exit_status      exit_count\n")
	for _, w := range r.Workers {
		if len(w.Exits) == 0 {
			b.WriteString(pad(w.Name, nameW) + " " + pad("0", 16) + " 0\n")
			continue
		}
		for _, e := range w.Exits {
			b.WriteString(pad(w.Name, nameW) + " " + pad(strconv.Itoa(e.Status), 16) + " " + strconv.Itoa(e.Count) + "\n")
		}
	}
	b.WriteString(rule("PROCESS STATUS", width) + "\n")
	b.WriteString(pad("pid", 8) + pad("memory", 8) + pad("listening", listenW) + " " + pad("worker_name", nameW) +
		" connections send_fail timers  total_request qps    status\n")
	var mem, conns, fails, timers, reqs int64
	var qps float64
	for _, p := range r.Processes {
		state := "[idle]"
		if p.Status == "busy" {
			state = "[busy]"
		}
		if p.Retiring {
			state += " [retiring]"
		}
		mem += p.MemoryBytes
		if p.Status != "busy" {
			conns += p.Connections
			fails += p.SendFail
			timers += int64(p.Timers)
			reqs += p.TotalRequest
			qps += p.QPS
		}
		b.WriteString(pad(strconv.Itoa(p.Pid), 8) + pad(formatMemory(p.MemoryBytes), 8) + pad(p.Listen, listenW) + " " +
			pad(p.Worker, nameW) + " " + pad(figure(p.Connections), 11) + " " + pad(figure(p.SendFail), 9) + " " +
			pad(figure(int64(p.Timers)), 7) + " " + pad(figure(p.TotalRequest), 13) + " " +
			pad(strconv.FormatFloat(math.Round(p.QPS), 'f', -1, 64), 6) + " " + state + "\n")
		for _, in := range p.Inner {
			b.WriteString(pad("", 8) + pad("", 8) + pad(in.Listen, listenW) + " " + pad(in.Name, nameW) + " " +
				pad(strconv.Itoa(in.Connections), 11) + " " + pad("-", 9) + " " + pad("-", 7) + " " + pad("-", 13) + " " +
				pad("-", 6) + " [inner]\n")
		}
	}
	b.WriteString(rule("PROCESS STATUS", width) + "\n")
	b.WriteString(pad("Summary", 8) + pad(formatMemory(mem), 8) + pad("-", listenW) + " " + pad("-", nameW) + " " +
		pad(strconv.FormatInt(conns, 10), 11) + " " + pad(strconv.FormatInt(fails, 10), 9) + " " +
		pad(strconv.FormatInt(timers, 10), 7) + " " + pad(strconv.FormatInt(reqs, 10), 13) + " " +
		pad(strconv.FormatFloat(math.Round(qps), 'f', -1, 64), 6) + " [Summary]\n")
	return b.String()
}

// formatConnections renders the connections command's table, in the layout
// of Workerman's.
func formatConnections(cs []ConnectionInfo) string {
	var b strings.Builder
	b.WriteString(rule(" WORKERMAN CONNECTION STATUS ", 170) + "\n")
	b.WriteString("PID      Worker          CID       Trans   Protocol        ipv4   ipv6   Recv-Q       Send-Q       Bytes-R      Bytes-W       Status         Local Address          Foreign Address\n")
	for _, c := range cs {
		worker := c.Worker
		if len(worker) > 14 {
			worker = worker[:12] + ".."
		}
		proto := c.Protocol
		if len(proto) > 15 {
			proto = proto[:13] + ".."
		}
		b.WriteString(pad(strconv.Itoa(c.Pid), 9) + pad(worker, 16) + pad(strconv.Itoa(c.ID), 10) + pad(c.Transport, 8) +
			pad(proto, 16) + pad(flag01(c.IPv4), 7) + pad(flag01(c.IPv6), 7) + pad(formatBytes(int64(c.RecvQueue)), 13) +
			pad(formatBytes(int64(c.SendQueue)), 13) + pad(formatBytes(c.BytesRead), 13) + pad(formatBytes(c.BytesWritten), 13) + " " +
			pad(c.State, 14) + " " + pad(c.Local, 22) + " " + pad(c.Remote, 22) + "\n")
	}
	return b.String()
}

func flag01(b bool) string {
	if b {
		return " 1"
	}
	return " 0"
}

// startTable renders the table printed when start succeeds, in the layout
// of Workerman's.
func startTable(ws []*Worker) string {
	cols := []string{"proto", "user", "worker", "listen", "processes", "state"}
	widths := []int{4, 12, 12, 12, 9, 1}
	rows := make([][]string, 0, len(ws))
	me := currentUserName()
	for _, w := range ws {
		u := w.User
		if u == "" {
			u = me
		}
		proto := w.Transport
		if proto == "" {
			proto = "tcp"
		}
		row := []string{proto, u, w.Name, listenName(w), strconv.Itoa(max(w.Count, 1)), " [OK]"}
		for i, s := range row {
			widths[i] = max(widths[i], len(s))
		}
		rows = append(rows, row)
	}
	total := 0
	for i := range widths {
		widths[i] += 4
		total += widths[i]
	}
	version := pad("Workerman version:"+Version, 33) + pad("Go version:"+runtime.Version(), 29) + "Event-loop:epoll"
	total = max(total, len(version))
	var b strings.Builder
	b.WriteString(rule(" WORKERMAN ", total) + "\n")
	b.WriteString(version + "\n")
	b.WriteString(rule(" WORKERS ", total) + "\n")
	for i, c := range cols {
		b.WriteString(pad(c, widths[i]))
	}
	b.WriteString("\n")
	for _, row := range rows {
		for i, s := range row {
			b.WriteString(pad(s, widths[i]))
		}
		b.WriteString("\n")
	}
	b.WriteString(rule("", total) + "\n")
	return b.String()
}

func listenName(w *Worker) string {
	if w.socketName == "" {
		return "none"
	}
	return w.socketName
}

func currentUserName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return strconv.Itoa(os.Getuid())
}
