package http_test

import (
	"context"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
	wmhttp "github.com/workerman-go/workerman/protocols/http"
	"github.com/workerman-go/workerman/protocols/http/redisstore"
)

// counterApp keeps a per-session counter; /regen regenerates the id,
// /destroy ends the session.
func counterApp(c *workerman.Connection, r *wmhttp.Request) {
	s, err := r.Session()
	if err != nil {
		c.Send(wmhttp.NewResponse(500, nil, err.Error()))
		return
	}
	switch r.Path() {
	case "/regen":
		s.Regenerate()
	case "/destroy":
		s.Destroy()
		c.Send("destroyed")
		return
	case "/peek":
		c.Send(fmt.Sprint(s.Get("n")))
		return
	}
	n, _ := s.Get("n").(float64)
	s.Set("n", n+1)
	c.Send(fmt.Sprintf("%s %v", s.ID(), n+1))
}

func jarClient() *nethttp.Client {
	jar, _ := cookiejar.New(nil)
	c := client()
	c.Jar = jar
	return c
}

func get(t *testing.T, cl *nethttp.Client, url string) (string, *nethttp.Response) {
	t.Helper()
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return string(b), resp
}

func TestFileSessions(t *testing.T) {
	dir := t.TempDir()
	store, err := wmhttp.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := &wmhttp.Protocol{Session: wmhttp.SessionConfig{Store: store, CookieName: "SID"}}
	addr := serve(t, p, counterApp)
	base := "http://" + addr
	cl := jarClient()
	body, resp := get(t, cl, base+"/")
	id, n, _ := strings.Cut(body, " ")
	if n != "1" || !strings.Contains(resp.Header.Get("Set-Cookie"), "SID="+id) || !strings.Contains(resp.Header.Get("Set-Cookie"), "HttpOnly") {
		t.Fatalf("first: %q %v", body, resp.Header)
	}
	if _, err := os.Stat(filepath.Join(dir, "sess_"+id)); err != nil {
		t.Fatalf("session file: %v", err)
	}
	body, resp = get(t, cl, base+"/")
	if body != id+" 2" || resp.Header.Get("Set-Cookie") != "" {
		t.Fatalf("second: %q %v", body, resp.Header)
	}
	// Another client has its own session.
	if b, _ := get(t, jarClient(), base+"/"); strings.HasSuffix(b, " 2") {
		t.Fatalf("sessions shared between clients: %q", b)
	}
	// Regenerate: new id, same values, old one gone.
	body, _ = get(t, cl, base+"/regen")
	nid, n, _ := strings.Cut(body, " ")
	if nid == id || n != "3" {
		t.Fatalf("regen: %q", body)
	}
	if _, err := os.Stat(filepath.Join(dir, "sess_"+id)); !os.IsNotExist(err) {
		t.Fatalf("old session file still there: %v", err)
	}
	if b, _ := get(t, cl, base+"/peek"); b != "3" {
		t.Fatalf("after regen: %q", b)
	}
	// Destroy.
	_, resp = get(t, cl, base+"/destroy")
	if !strings.Contains(resp.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("destroy cookie %q", resp.Header.Get("Set-Cookie"))
	}
	if _, err := os.Stat(filepath.Join(dir, "sess_"+nid)); !os.IsNotExist(err) {
		t.Fatalf("destroyed session file still there: %v", err)
	}
	// A forged id cannot name a file outside the store.
	req, _ := nethttp.NewRequest("GET", base+"/peek", nil)
	req.Header.Set("Cookie", "SID=../../../../etc/passwd")
	resp, err = client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "<nil>" {
		t.Fatalf("forged id: %q", b)
	}
}

func TestFileSessionExpiryAndGC(t *testing.T) {
	dir := t.TempDir()
	store, _ := wmhttp.NewFileStore(dir)
	// An old session file and a fresh one.
	old := filepath.Join(dir, "sess_0123456789abcdef0123456789abcdef")
	os.WriteFile(old, []byte(`{"n":5}`), 0o600)
	past := time.Now().Add(-time.Hour)
	os.Chtimes(old, past, past)
	data, err := store.Read(context.Background(), "0123456789abcdef0123456789abcdef", time.Minute)
	if err != nil || data != nil {
		t.Fatalf("expired session read: %q %v", data, err)
	}
	os.WriteFile(old, []byte(`{"n":5}`), 0o600)
	os.Chtimes(old, past, past)
	fresh := filepath.Join(dir, "sess_fedcba9876543210fedcba9876543210")
	os.WriteFile(fresh, []byte(`{}`), 0o600)
	if err := store.GC(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatal("GC kept an expired session")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatal("GC removed a live session")
	}
}

// startRedis runs a redis-server on a free loopback port in a temporary
// directory for the test.
func startRedis(t *testing.T) *redis.Client {
	t.Helper()
	bin := wmtest.RequireTool(t, "redis-server")
	dir := t.TempDir()
	for attempt := 0; attempt < 5; attempt++ {
		port := freePort(t)
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--protected-mode", "yes")
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cl := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if cl.Ping(context.Background()).Err() == nil {
				t.Cleanup(func() {
					cl.Close()
					cmd.Process.Kill()
					cmd.Wait()
				})
				return cl
			}
			time.Sleep(50 * time.Millisecond)
		}
		cl.Close()
		cmd.Process.Kill()
		cmd.Wait()
	}
	t.Fatal("redis-server did not start")
	return nil
}

func TestRedisSessionsAcrossProcesses(t *testing.T) {
	rc := startRedis(t)
	store := redisstore.New(rc, "test:")
	// Two workers with their own protocol instances stand for two
	// processes (or hosts) sharing the store.
	a := serve(t, &wmhttp.Protocol{Session: wmhttp.SessionConfig{Store: store}}, counterApp)
	b := serve(t, &wmhttp.Protocol{Session: wmhttp.SessionConfig{Store: store}}, counterApp)
	jar, _ := cookiejar.New(nil)
	cl := client()
	cl.Jar = jar
	// The jar keys cookies by host, and both workers are 127.0.0.1.
	var id string
	for i, addr := range []string{a, b, a, b} {
		body, _ := get(t, cl, "http://"+addr+"/")
		gid, n, _ := strings.Cut(body, " ")
		if id == "" {
			id = gid
		}
		if gid != id || n != strconv.Itoa(i+1) {
			t.Fatalf("request %d on %s: %q", i, addr, body)
		}
	}
	ttl, err := rc.TTL(context.Background(), "test:"+id).Result()
	if err != nil || ttl <= 0 || ttl > 24*time.Minute {
		t.Fatalf("ttl %v %v", ttl, err)
	}
	get(t, cl, "http://"+b+"/regen")
	if n, _ := rc.Exists(context.Background(), "test:"+id).Result(); n != 0 {
		t.Fatal("old id still in redis after Regenerate")
	}
	if body, _ := get(t, cl, "http://"+a+"/peek"); body != "5" {
		t.Fatalf("after regen: %q", body)
	}
}

// gateStore is a blocking store whose calls wait for the test.
type gateStore struct {
	wmhttp.SessionStore
	readGate, writeGate chan struct{}
}

func (g *gateStore) Read(ctx context.Context, id string, l time.Duration) ([]byte, error) {
	<-g.readGate
	return g.SessionStore.Read(ctx, id, l)
}

func (g *gateStore) Write(ctx context.Context, id string, d []byte, l time.Duration) error {
	<-g.writeGate
	return g.SessionStore.Write(ctx, id, d, l)
}

// TestBlockingStoreDoesNotStallLoop holds a session read and a session
// write open and checks that other clients are served meanwhile, and that
// a response waits for its session write.
func TestBlockingStoreDoesNotStallLoop(t *testing.T) {
	rc := startRedis(t)
	g := &gateStore{SessionStore: redisstore.New(rc, "gate:"), readGate: make(chan struct{}), writeGate: make(chan struct{})}
	addr := serve(t, &wmhttp.Protocol{Session: wmhttp.SessionConfig{Store: g}}, counterApp)
	plain := serve(t, nil, func(c *workerman.Connection, r *wmhttp.Request) { c.Send("plain") })

	// A new session: no read, but the write is held.
	done := make(chan string, 1)
	cl := jarClient()
	go func() {
		b, _ := get(t, cl, "http://"+addr+"/")
		done <- b
	}()
	select {
	case b := <-done:
		t.Fatalf("response %q sent before its session was written", b)
	case <-time.After(300 * time.Millisecond):
	}
	if b, _ := get(t, client(), "http://"+plain+"/"); b != "plain" {
		t.Fatalf("loop stalled: %q", b)
	}
	close(g.writeGate)
	first := <-done
	// Now a request with the cookie: its read is held.
	go func() {
		b, _ := get(t, cl, "http://"+addr+"/")
		done <- b
	}()
	if b, _ := get(t, client(), "http://"+plain+"/"); b != "plain" {
		t.Fatalf("loop stalled during read: %q", b)
	}
	close(g.readGate)
	second := <-done
	id, _, _ := strings.Cut(first, " ")
	if second != id+" 2" {
		t.Fatalf("first %q second %q", first, second)
	}
}
