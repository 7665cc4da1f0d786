package push_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/workerman-go/workerman/channel"
	"github.com/workerman-go/workerman/internal/testserver"
	"github.com/workerman-go/workerman/push"
)

// The host tests run testdata/pushhost as a separate process (a host) on a
// broker backend, and freeze it (SIGSTOP, as a hung host or a network
// partition) and kill it (SIGKILL), to check what IsUidOnline and
// GroupCount say about its members.

func TestHostDiesNATS(t *testing.T) { testHostDies(t, testserver.StartNATS(t).URL) }

func TestHostDiesRedis(t *testing.T) {
	testHostDies(t, "redis://"+testserver.StartRedis(t).Addr)
}

var (
	hostOnce sync.Once
	hostBin  string
	hostErr  error
)

// buildHost builds testdata/pushhost once for the package's tests.
func buildHost(t *testing.T) string {
	t.Helper()
	hostOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pushhost")
		if err != nil {
			hostErr = err
			return
		}
		hostBin = filepath.Join(dir, "pushhost")
		if out, err := exec.Command("go", "build", "-o", hostBin, "./testdata/pushhost").CombinedOutput(); err != nil {
			hostErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if hostErr != nil {
		t.Fatal(hostErr)
	}
	return hostBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if hostBin != "" {
		os.RemoveAll(filepath.Dir(hostBin))
	}
	os.Exit(code)
}

func testHostDies(t *testing.T, chAddr string) {
	bin := buildHost(t)
	listen := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	cmd := exec.Command(bin, "start")
	cmd.Env = append(os.Environ(), "PUSH_LISTEN="+listen, "PUSH_CHANNEL="+chAddr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		<-exited
	})
	var conn net.Conn
	for deadline := time.Now().Add(30 * time.Second); ; {
		var err error
		if conn, err = net.Dial("tcp", listen); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pushhost does not listen")
		}
		time.Sleep(20 * time.Millisecond)
	}
	conn.Close()
	u := connect(t, listen, "bind alice", "join g")

	sch, err := channel.Dial(ctx(t), chAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sch.Close()
	sender := push.New(sch, nil)
	online := func(want bool, n int) func() string {
		return func() string {
			on, err := sender.IsUidOnlineContext(ctx(t), "alice")
			g, err2 := sender.GroupCountContext(ctx(t), "g")
			if err != nil || err2 != nil || on != want || g != n {
				return fmt.Sprintf("alice online %v, group g %d (%v %v); want %v, %d", on, g, err, err2, want, n)
			}
			return ""
		}
	}
	eventually(t, online(true, 1))
	if err := sender.SendToUid("alice", "hello"); err != nil {
		t.Fatal(err)
	}
	if got := u.line(); got != "hello" {
		t.Fatalf("alice got %q", got)
	}

	// A frozen host does not answer: its members are not counted, though
	// its subscriptions are still on the broker.
	cmd.Process.Signal(syscall.SIGSTOP)
	start := time.Now()
	eventually(t, online(false, 0))
	t.Logf("a frozen host's members left the counts after %v", time.Since(start))
	cmd.Process.Signal(syscall.SIGCONT)
	eventually(t, online(true, 1))

	// A killed host's connection closes: its subscriptions go with it.
	cmd.Process.Kill()
	<-exited
	start = time.Now()
	eventually(t, online(false, 0))
	t.Logf("a killed host's members left the counts after %v", time.Since(start))
}
