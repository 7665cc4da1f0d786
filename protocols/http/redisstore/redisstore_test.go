package redisstore_test

import (
	"context"
	"io"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"net"

	"github.com/redis/go-redis/v9"
	"github.com/workerman-go/workerman/internal/wmtest"
	"github.com/workerman-go/workerman/protocols/http/redisstore"
)

func startRedis(t *testing.T) *redis.Client {
	t.Helper()
	bin := wmtest.RequireTool(t, "redis-server")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", t.TempDir(), "--save", "", "--appendonly", "no")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	cl := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	t.Cleanup(func() { cl.Close() })
	for i := 0; i < 200; i++ {
		if cl.Ping(context.Background()).Err() == nil {
			return cl
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("redis-server did not start")
	return nil
}

func TestStore(t *testing.T) {
	cl := startRedis(t)
	s := redisstore.New(cl, "")
	ctx := context.Background()
	if !s.Blocking() {
		t.Fatal("a Redis store must report that it blocks")
	}
	if b, err := s.Read(ctx, "nope", time.Minute); b != nil || err != nil {
		t.Fatalf("missing session: %q %v", b, err)
	}
	if err := s.Write(ctx, "id1", []byte(`{"a":1}`), time.Minute); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Read(ctx, "id1", time.Minute); string(b) != `{"a":1}` || err != nil {
		t.Fatalf("read back: %q %v", b, err)
	}
	if ttl := cl.TTL(ctx, "wmsess:id1").Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("ttl %v", ttl)
	}
	if err := s.Touch(ctx, "id1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if ttl := cl.TTL(ctx, "wmsess:id1").Val(); ttl <= time.Minute {
		t.Fatalf("ttl after touch %v", ttl)
	}
	if err := s.Destroy(ctx, "id1"); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Read(ctx, "id1", time.Minute); b != nil {
		t.Fatal("destroyed session still readable")
	}
	// Expiry is Redis's.
	s.Write(ctx, "short", []byte("x"), time.Second)
	time.Sleep(2100 * time.Millisecond)
	if b, _ := s.Read(ctx, "short", time.Second); b != nil {
		t.Fatal("session outlived its lifetime")
	}
	// A server that is gone is an error, not a missing session.
	cl.Close()
	if _, err := s.Read(ctx, "id1", time.Minute); err == nil {
		t.Fatal("no error from a closed client")
	}
}
