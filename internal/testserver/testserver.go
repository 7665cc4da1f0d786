//go:build unix

// Package testserver starts private servers for tests: MariaDB, Redis and
// Mosquitto, each on a free loopback port with its files in a temporary
// directory, stopped when the test ends.
package testserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/workerman-go/workerman/internal/wmtest"
)

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// process is a server program that can be stopped and started again with
// the same arguments.
type process struct {
	t      testing.TB
	bin    string
	args   []string
	cmd    *exec.Cmd
	exited chan error
	logf   string
}

func (p *process) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, p.args...)
	if p.logf != "" {
		f, err := os.OpenFile(p.logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			p.t.Fatal(err)
		}
		defer f.Close()
		p.cmd.Stdout, p.cmd.Stderr = f, f
	}
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, ch chan error) { ch <- cmd.Wait() }(p.cmd, p.exited)
}

// stop ends the server with SIGTERM (SIGKILL after 30 s) and waits for it.
func (p *process) stop() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGCONT)
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

// waitDial waits until network/addr accepts connections.
func (p *process) waitDial(network, addr string) {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.Dial(network, addr)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-p.exited:
			b, _ := os.ReadFile(p.logf)
			p.t.Fatalf("%s exited: %v\n%s", filepath.Base(p.bin), err, b)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(p.logf)
			p.t.Fatalf("%s not ready after 60s\n%s", filepath.Base(p.bin), b)
		}
	}
}

// MariaDB is a private MariaDB server.
type MariaDB struct {
	Port int
	// DSN is a go-sql-driver/mysql data source name for the user app
	// (password pw), who owns the database app.
	DSN    string
	Socket string
	client string
	p      *process
}

// StartMariaDB installs a data directory, starts mariadbd on it and stops it
// when the test ends. It creates the database app and the user app/pw.
func StartMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	mariadbd := wmtest.RequireTool(t, "mariadbd")
	install := wmtest.RequireTool(t, "mariadb-install-db")
	client := wmtest.RequireTool(t, "mariadb")
	dir, err := os.MkdirTemp("", "wm-mariadb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	data := filepath.Join(dir, "data")
	// A private tmpdir: installs running at once in other test binaries
	// must not see each other's temporary tables in /tmp.
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	var user []string
	if os.Geteuid() == 0 {
		user = []string{"--user=root"}
	}
	args := append([]string{"--no-defaults", "--datadir=" + data, "--tmpdir=" + tmp, "--auth-root-authentication-method=normal", "--skip-test-db"}, user...)
	if out, err := exec.Command(install, args...).CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	m := &MariaDB{Port: FreePort(t), Socket: filepath.Join(dir, "mysqld.sock"), client: client}
	m.DSN = fmt.Sprintf("app:pw@tcp(127.0.0.1:%d)/app", m.Port)
	m.p = &process{t: t, bin: mariadbd, logf: filepath.Join(dir, "error.log"),
		args: append([]string{"--no-defaults", "--datadir=" + data, "--tmpdir=" + tmp, fmt.Sprintf("--port=%d", m.Port),
			"--bind-address=127.0.0.1", "--socket=" + m.Socket, "--pid-file=" + filepath.Join(dir, "mysqld.pid"),
			"--skip-log-bin", "--skip-name-resolve", "--innodb-buffer-pool-size=16M", "--max-connections=200"}, user...)}
	m.Start()
	t.Cleanup(m.Stop)
	m.RootExec(t, "CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'pw'; GRANT ALL ON app.* TO 'app'@'127.0.0.1'; CREATE DATABASE app;")
	return m
}

// RootExec runs SQL statements as root over the server's socket and fails
// the test if they fail.
func (m *MariaDB) RootExec(t testing.TB, stmts string) {
	t.Helper()
	out, err := exec.Command(m.client, "--no-defaults", "--socket="+m.Socket, "-uroot", "-e", stmts).CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb: %v %s", err, out)
	}
}

// Stop stops the server; its data stays for Start.
func (m *MariaDB) Stop() { m.p.stop() }

// Start starts the server again on the same port and data.
func (m *MariaDB) Start() {
	m.p.t.Helper()
	m.p.start()
	m.p.waitDial("tcp", "127.0.0.1:"+strconv.Itoa(m.Port))
}

// Redis is a private redis-server.
type Redis struct {
	Addr string
	p    *process
}

// StartRedis starts redis-server without persistence and stops it when the
// test ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin := wmtest.RequireTool(t, "redis-server")
	dir := t.TempDir()
	port := FreePort(t)
	r := &Redis{Addr: "127.0.0.1:" + strconv.Itoa(port), p: &process{t: t, bin: bin, logf: filepath.Join(dir, "redis.log"),
		args: []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"}}}
	r.p.start()
	t.Cleanup(r.p.stop)
	r.p.waitDial("tcp", r.Addr)
	return r
}

// Mosquitto is a private MQTT broker.
type Mosquitto struct {
	// URL is tcp://127.0.0.1:port for an MQTT client.
	URL string
	p   *process
}

// StartMosquitto starts mosquitto on a loopback port, anonymous access
// allowed, and stops it when the test ends.
func StartMosquitto(t testing.TB) *Mosquitto {
	t.Helper()
	bin := "/usr/sbin/mosquitto"
	if _, err := os.Stat(bin); err != nil {
		bin = wmtest.RequireTool(t, "mosquitto")
	}
	dir := t.TempDir()
	port := FreePort(t)
	conf := filepath.Join(dir, "mosquitto.conf")
	cfg := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", port)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &Mosquitto{URL: fmt.Sprintf("tcp://127.0.0.1:%d", port), p: &process{t: t, bin: bin, logf: filepath.Join(dir, "mosquitto.log"),
		args: []string{"-c", conf}}}
	m.p.start()
	t.Cleanup(m.p.stop)
	m.p.waitDial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	return m
}

// Dnsmasq is a private DNS server answering for the zone test: the names
// given to StartDnsmasq, NXDOMAIN for every other name in it.
type Dnsmasq struct {
	// Addr is 127.0.0.1:port, on UDP and TCP.
	Addr string
	p    *process
}

// StartDnsmasq starts dnsmasq on a loopback port with no upstream servers,
// serving records ("name,address[,address]", dnsmasq's --host-record), and
// stops it when the test ends.
func StartDnsmasq(t testing.TB, records ...string) *Dnsmasq {
	t.Helper()
	bin := "/usr/sbin/dnsmasq"
	if _, err := os.Stat(bin); err != nil {
		bin = wmtest.RequireTool(t, "dnsmasq")
	}
	dir := t.TempDir()
	port := FreePort(t)
	args := []string{"--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
		"--listen-address=127.0.0.1", "--bind-interfaces", "--port=" + strconv.Itoa(port),
		"--pid-file=" + filepath.Join(dir, "dnsmasq.pid"), "--local=/test/", "--log-facility=-"}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	for _, r := range records {
		args = append(args, "--host-record="+r)
	}
	d := &Dnsmasq{Addr: "127.0.0.1:" + strconv.Itoa(port), p: &process{t: t, bin: bin, args: args, logf: filepath.Join(dir, "dnsmasq.log")}}
	d.p.start()
	t.Cleanup(d.p.stop)
	d.p.waitDial("tcp", d.Addr)
	return d
}

// Pause stops the server's process with SIGSTOP: connections stay open and
// nothing answers, as with a hung server.
func (m *MariaDB) Pause() { m.p.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume lets a paused server go on.
func (m *MariaDB) Resume() { m.p.cmd.Process.Signal(syscall.SIGCONT) }
