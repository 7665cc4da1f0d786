package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log"
	nethttp "net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/testserver"
	"github.com/workerman-go/workerman/internal/wmtest"
)

func setup(t *testing.T) (*testserver.MariaDB, string) {
	t.Helper()
	mysql.SetLogger(log.New(io.Discard, "", 0)) // broken connections are expected in the outage test
	m := testserver.StartMariaDB(t)
	db, err := sql.Open("mysql", m.DSN+"?multiStatements=true")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(schema + `;
		INSERT INTO persons VALUES (1, 'Tom', 'M'), (2, 'Ann', 'F');
		INSERT INTO accounts VALUES (1, 1000), (2, 1000), (3, 1000), (4, 1000)`); err != nil {
		t.Fatal(err)
	}
	addr := wmtest.Serve(t, newServer("127.0.0.1:0", m.DSN))
	return m, "http://" + addr
}

func get(t *testing.T, cl *nethttp.Client, method, url string) (int, string) {
	t.Helper()
	req, _ := nethttp.NewRequest(method, url, nil)
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestQueriesAndTransactions(t *testing.T) {
	m, base := setup(t)
	cl := &nethttp.Client{Timeout: 20 * time.Second}
	if code, body := get(t, cl, "GET", base+"/user?id=1"); code != 200 || body != `{"id":1,"name":"Tom","sex":"M"}` {
		t.Fatalf("/user?id=1: %d %q", code, body)
	}
	if code, _ := get(t, cl, "GET", base+"/user?id=9"); code != 404 {
		t.Fatalf("missing person: %d", code)
	}
	if code, body := get(t, cl, "POST", base+"/transfer?from=1&to=2&amount=5000"); code != 409 {
		t.Fatalf("overdraft: %d %q", code, body)
	}
	if code, body := get(t, cl, "POST", base+"/transfer?from=1&to=99&amount=1"); code != 503 || !strings.Contains(body, "no account 99") {
		t.Fatalf("to a missing account: %d %q", code, body)
	}

	// Concurrent transfers between four accounts: each one is all or
	// nothing, so the total stays and the journal matches the balances.
	var wg sync.WaitGroup
	var ok, refused atomic.Int64
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				from, to := (g+i)%4+1, (g+2*i+1)%4+1
				if from == to {
					to = from%4 + 1
				}
				code, body := get(t, cl, "POST", fmt.Sprintf("%s/transfer?from=%d&to=%d&amount=%d", base, from, to, 50+i*7))
				switch code {
				case 200:
					ok.Add(1)
				case 409:
					refused.Add(1)
				default:
					t.Errorf("transfer: %d %q", code, body)
					return
				}
			}
		}()
	}
	wg.Wait()
	db, err := sql.Open("mysql", m.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var total, journaled int64
	var n int64
	if err := db.QueryRow("SELECT SUM(balance) FROM accounts").Scan(&total); err != nil || total != 4000 {
		t.Fatalf("total balance %d %v, want 4000", total, err)
	}
	if err := db.QueryRow("SELECT COUNT(*), COALESCE(SUM(amount),0) FROM transfers").Scan(&n, &journaled); err != nil || n != ok.Load() {
		t.Fatalf("journal has %d transfers (%v), %d succeeded", n, err, ok.Load())
	}
	var b1 int64
	db.QueryRow("SELECT balance - 1000 FROM accounts WHERE id = 1").Scan(&b1)
	var in1, out1 int64
	db.QueryRow("SELECT COALESCE(SUM(amount),0) FROM transfers WHERE dst = 1").Scan(&in1)
	db.QueryRow("SELECT COALESCE(SUM(amount),0) FROM transfers WHERE src = 1").Scan(&out1)
	if b1 != in1-out1 {
		t.Fatalf("account 1 moved by %d, journal says %d", b1, in1-out1)
	}
	t.Logf("%d transfers done, %d refused for insufficient funds", ok.Load(), refused.Load())
}

// The database stops under load: requests fail fast with a clear error and
// the goroutines stay bounded; it comes back: the same worker serves again.
func TestDatabaseOutage(t *testing.T) {
	m, base := setup(t)
	cl := &nethttp.Client{Timeout: 20 * time.Second, Transport: &nethttp.Transport{MaxIdleConnsPerHost: 64}}
	if code, _ := get(t, cl, "GET", base+"/user?id=2"); code != 200 {
		t.Fatalf("before: %d", code)
	}
	baseG := runtime.NumGoroutine()

	var stop atomic.Bool
	var mu sync.Mutex
	codes := map[int]int{}
	var bodies []string
	var maxG atomic.Int64
	var wg sync.WaitGroup
	const clients = 32
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				code, body := get(t, cl, "GET", base+"/user?id=2")
				mu.Lock()
				codes[code]++
				if code != 200 && len(bodies) < 5 {
					bodies = append(bodies, body)
				}
				mu.Unlock()
				if g := int64(runtime.NumGoroutine()); g > maxG.Load() {
					maxG.Store(g)
				}
			}
		}()
	}
	load := func(what string, d time.Duration) map[int]int {
		mu.Lock()
		clear(codes)
		bodies = nil
		mu.Unlock()
		time.Sleep(d)
		mu.Lock()
		defer mu.Unlock()
		t.Logf("%s: %v %q", what, codes, bodies)
		return maps(codes)
	}
	load("healthy", time.Second)
	m.Stop()
	down := load("database stopped", 2*time.Second)
	if down[503] == 0 {
		t.Fatalf("no 503 while the database was down: %v", down)
	}
	mu.Lock()
	for _, b := range bodies {
		if !strings.HasPrefix(b, "database unavailable: ") && !strings.HasPrefix(b, "busy: ") {
			t.Errorf("unclear error: %q", b)
		}
	}
	mu.Unlock()
	// Client goroutines (two per keep-alive connection), the pool's
	// workers and database/sql's own per connection: bounded by the
	// configuration, not by the load.
	if limit := int64(baseG + 3*clients + conns*3 + 20); maxG.Load() > limit {
		t.Errorf("goroutines peaked at %d (base %d, limit %d)", maxG.Load(), baseG, limit)
	}
	m.Start()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := load("database restarted", 500*time.Millisecond)
		if c[200] > 0 && c[503] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service did not resume: %v", c)
		}
	}
	stop.Store(true)
	wg.Wait()
	if code, body := get(t, cl, "POST", base+"/transfer?from=1&to=2&amount=1"); code != 200 {
		t.Fatalf("transaction after the outage: %d %q", code, body)
	}
	t.Logf("goroutines: base %d, peak %d, after %d", baseG, maxG.Load(), runtime.NumGoroutine())
}

func maps(m map[int]int) map[int]int {
	c := make(map[int]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// The program as deployed: started with RunAll, two processes, each with
// its own database pool opened in OnWorkerStart.
func TestTwoProcesses(t *testing.T) {
	m, _ := setup(t)
	dir := t.TempDir()
	bin := dir + "/clients-mysql"
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	port := testserver.FreePort(t)
	env := append(os.Environ(), "HTTP_LISTEN=127.0.0.1:"+strconv.Itoa(port), "MYSQL_DSN="+m.DSN, "PID_FILE="+dir+"/app.pid")
	run := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("start", "-d"); !strings.Contains(out, "Start success") {
		t.Fatalf("start -d said:\n%s", out)
	}
	t.Cleanup(func() { run("stop") })
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	// New connections spread over the processes; each answers from its
	// own pool.
	pids := map[int]bool{}
	for i := 0; i < 400 && len(pids) < 2; i++ {
		cl := &nethttp.Client{Timeout: 10 * time.Second, Transport: &nethttp.Transport{DisableKeepAlives: true}}
		if code, body := get(t, cl, "GET", base+"/user?id=2"); code != 200 || body != `{"id":2,"name":"Ann","sex":"F"}` {
			t.Fatalf("/user: %d %q", code, body)
		}
		_, body := get(t, cl, "GET", base+"/stats")
		var st struct {
			Pid int
			DB  sql.DBStats
		}
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("%v: %q", err, body)
		}
		if st.DB.MaxOpenConnections != conns {
			t.Fatalf("process %d's pool: %+v", st.Pid, st.DB)
		}
		pids[st.Pid] = true
	}
	if len(pids) != 2 {
		t.Fatalf("answers came from processes %v, want two", pids)
	}
	// Both processes queried: make sure each has a connection of its own.
	for i := 0; i < 100; i++ {
		cl := &nethttp.Client{Timeout: 10 * time.Second, Transport: &nethttp.Transport{DisableKeepAlives: true}}
		get(t, cl, "GET", base+"/user?id=1")
	}
	out, err := exec.Command("mariadb", "--no-defaults", "--socket="+m.Socket, "-uroot", "-N", "-B", "-e",
		"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'app'").CombinedOutput()
	if n, _ := strconv.Atoi(strings.TrimSpace(string(out))); err != nil || n < 2 || n > 2*conns {
		t.Fatalf("the database sees %q connections of the application (%v), want 2 to %d", out, err, 2*conns)
	}
	if out := run("status"); !strings.Contains(out, "clients-mysql") {
		t.Fatalf("status:\n%s", out)
	}
}

// The database hangs (SIGSTOP: connections open, no answers) under load:
// at most conns queries wait on it, a bounded number queue, every other
// request is refused at once with 503, and each admitted one ends at the
// pool's Timeout with a clear error. The goroutines stay bounded; when the
// database wakes up the service goes on.
func TestDatabaseHangs(t *testing.T) {
	m, base := setup(t)
	cl := &nethttp.Client{Timeout: 30 * time.Second, Transport: &nethttp.Transport{MaxIdleConnsPerHost: 128}}
	if code, _ := get(t, cl, "GET", base+"/user?id=2"); code != 200 {
		t.Fatalf("before: %d", code)
	}
	baseG := runtime.NumGoroutine()
	m.Pause()
	var wg sync.WaitGroup
	var mu sync.Mutex
	kinds := map[string]int{}
	var maxG atomic.Int64
	const clients = 96 // more than the pool's workers and queue together
	stop := time.Now().Add(7 * time.Second)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				code, body := get(t, cl, "GET", base+"/user?id=2")
				kind := fmt.Sprint(code)
				switch {
				case code == 503 && strings.HasPrefix(body, "busy: "+workerman.ErrAsyncBusy.Error()):
					kind = "busy"
					time.Sleep(10 * time.Millisecond)
				case code == 503 && (strings.Contains(body, "context deadline exceeded") || strings.Contains(body, "i/o timeout")):
					kind = "timeout"
				case code != 200:
					t.Errorf("unexpected answer: %d %q", code, body)
				}
				mu.Lock()
				kinds[kind]++
				mu.Unlock()
				if g := int64(runtime.NumGoroutine()); g > maxG.Load() {
					maxG.Store(g)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("while hung: %v; goroutines base %d, peak %d", kinds, baseG, maxG.Load())
	if kinds["timeout"] == 0 || kinds["busy"] == 0 {
		t.Error("want requests ending at a timeout and requests refused at once")
	}
	if limit := int64(baseG + 4*clients + conns*3 + 20); maxG.Load() > limit {
		t.Errorf("goroutines peaked at %d (base %d, limit %d)", maxG.Load(), baseG, limit)
	}
	m.Resume()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ := get(t, cl, "GET", base+"/user?id=2")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service did not resume: %d", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
