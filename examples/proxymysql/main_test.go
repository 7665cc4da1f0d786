package main

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/testserver"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// mariaDB is a private MariaDB server (internal/testserver) with the user
// proxy/pw for 127.0.0.1 and the database t.
type mariaDB struct {
	client string
	port   int
}

func startMariaDB(t *testing.T) *mariaDB {
	t.Helper()
	db := testserver.StartMariaDB(t)
	db.RootExec(t, "CREATE USER 'proxy'@'127.0.0.1' IDENTIFIED BY 'pw'; GRANT ALL ON *.* TO 'proxy'@'127.0.0.1'; CREATE DATABASE t;")
	return &mariaDB{client: wmtest.RequireTool(t, "mariadb"), port: db.Port}
}

// sql runs statements through the mariadb client against host:port.
func (m *mariaDB) sql(port int, pass string, stmts string) (string, error) {
	cmd := exec.Command(m.client, "--no-defaults", "-h127.0.0.1", fmt.Sprintf("-P%d", port),
		"-uproxy", "-p"+pass, "--connect-timeout=20", "-N", "-B")
	cmd.Stdin = strings.NewReader(stmts)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func TestMySQLProxy(t *testing.T) {
	m := startMariaDB(t)
	w := newMySQLProxy("tcp://127.0.0.1:0", fmt.Sprintf("tcp://127.0.0.1:%d", m.port))
	addr := wmtest.Serve(t, w)
	_, ps, _ := net.SplitHostPort(addr)
	var port int
	fmt.Sscan(ps, &port)

	t.Run("queries", func(t *testing.T) {
		out, err := m.sql(port, "pw", `CREATE TABLE t.kv (k INT PRIMARY KEY, v MEDIUMTEXT);
			INSERT INTO t.kv VALUES (1, 'one'), (2, 'two'), (3, REPEAT('z', 100000));
			SELECT k, v FROM t.kv WHERE k < 3 ORDER BY k;
			SELECT LENGTH(v) FROM t.kv WHERE k = 3;
			SELECT CONNECTION_ID() > 0, @@port;`)
		if err != nil {
			t.Fatalf("through the proxy: %v\n%s", err, out)
		}
		want := fmt.Sprintf("1\tone\n2\ttwo\n100000\n1\t%d\n", m.port)
		if out != want {
			t.Fatalf("got %q, want %q", out, want)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		out, err := m.sql(port, "nope", "SELECT 1")
		if err == nil || !strings.Contains(out, "Access denied for user 'proxy'") {
			t.Fatalf("err %v out %q, want MariaDB's access denied through the proxy", err, out)
		}
	})

	t.Run("parallel clients", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := m.sql(port, "pw", fmt.Sprintf("SELECT SUM(seq) FROM t.seq_1_to_%d", 1000*(i+1)))
				n := 1000 * (i + 1)
				if want := fmt.Sprintf("%d\n", n*(n+1)/2); err != nil || out != want {
					errs <- fmt.Sprintf("client %d: %v %q want %q", i, err, out, want)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	})

	t.Run("big upload", func(t *testing.T) {
		// A 6 MB statement from the client.
		blob := strings.Repeat("0123456789abcdef", 6<<20/16)
		out, err := m.sql(port, "pw", "CREATE TABLE t.blob (b LONGTEXT); INSERT INTO t.blob VALUES ('"+blob+"'); SELECT LENGTH(b), MD5(b) = MD5(REPEAT('0123456789abcdef', 393216)) FROM t.blob;")
		if err != nil || out != fmt.Sprintf("%d\t1\n", len(blob)) {
			t.Fatalf("got %q %v", out, err)
		}
	})

	t.Run("slow reader", func(t *testing.T) {
		// 40000 rows of ~1 KB read by a client that is held back: the
		// proxy must pause the server and keep its memory flat.
		const rows = 40000
		cmd := exec.Command(m.client, "--no-defaults", "-h127.0.0.1", fmt.Sprintf("-P%d", port),
			"-uproxy", "-ppw", "--quick", "-N", "-B", "-e",
			fmt.Sprintf("SELECT seq, REPEAT(CHAR(65 + seq %% 26), 1000) FROM t.seq_1_to_%d", rows))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var failBefore int64
		wmtest.Do(func() { failBefore = workerman.ProcessStats().SendFail })
		runtime.GC()
		base := liveHeap()
		var peakHeap uint64
		var maxBuf int
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				peakHeap = max(peakHeap, liveHeap())
				wmtest.Do(func() {
					for _, c := range w.Connections {
						maxBuf = max(maxBuf, c.SendBufferLen())
					}
				})
			}
		}()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReaderSize(stdout, 4096)
		n := 0
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				break
			}
			n++
			want := fmt.Sprintf("%d\t%s\n", n, strings.Repeat(string(rune('A'+n%26)), 1000))
			if line != want {
				t.Fatalf("row %d: got %.30q", n, line)
			}
			if n%400 == 0 {
				time.Sleep(10 * time.Millisecond) // about 40 MB/s at most
			}
		}
		err = cmd.Wait()
		close(stop)
		<-done
		if err != nil || n != rows {
			t.Fatalf("read %d rows, want %d: %v", n, rows, err)
		}
		var failAfter int64
		wmtest.Do(func() { failAfter = workerman.ProcessStats().SendFail })
		growth := int64(peakHeap) - int64(base)
		t.Logf("%d rows (%d MiB); client send buffer peaked at %d KiB; live heap grew by %d KiB", rows, rows*1006>>20, maxBuf>>10, growth>>10)
		if failAfter != failBefore {
			t.Errorf("%d sends dropped: the proxy did not hold the server back", failAfter-failBefore)
		}
		if maxBuf > workerman.DefaultMaxSendBufferSize+64<<10 {
			t.Errorf("send buffer reached %d bytes", maxBuf)
		}
		if growth > 8<<20 {
			t.Errorf("live heap grew by %d MiB", growth>>20)
		}
	})
}
