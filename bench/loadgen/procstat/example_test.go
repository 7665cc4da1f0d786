package procstat_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/workerman-go/workerman/bench/loadgen"
	"github.com/workerman-go/workerman/bench/loadgen/procstat"
)

// A server under test calls procstat.ServeStats and, once it listens,
// procstat.Announce. The measuring side starts it, samples it around a
// load run and divides the differences by the messages.
func Example() {
	// The server here is this test binary, which turns into an echo
	// server doing exactly that when PROCSTAT_TEST_SERVER=echo.
	os.Setenv("PROCSTAT_TEST_SERVER", "echo")
	defer os.Unsetenv("PROCSTAT_TEST_SERVER")
	argv := []string{os.Args[0], "-test.run=^$"}

	ctx := context.Background()
	srv, err := procstat.Start(ctx, "echo", argv, "", 10*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Stop()
	var before, after procstat.Sample
	res, err := loadgen.Run(ctx, loadgen.Config{
		Addr: srv.Addr, Conns: 4, Payload: 64, Duration: 200 * time.Millisecond,
		OnStart: func() (err error) { before, err = srv.Sample(); return err },
		OnEnd:   func() (err error) { after, err = srv.Sample(); return err },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	n := float64(res.Messages)
	reads := float64(after.ReadCalls-before.ReadCalls) / n
	writes := float64(after.WriteCalls-before.WriteCalls) / n
	fmt.Println("at least one read and one write per message:", reads >= 1 && writes >= 1)
	fmt.Println("allocations counted:", after.Mallocs >= before.Mallocs)
	// Output:
	// at least one read and one write per message: true
	// allocations counted: true
}
