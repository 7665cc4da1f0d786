// Command gdapp is the program the globaldata tests build and run as
// separate processes. Under the master (./gdapp start -d) it runs a
// GlobalData server and, as configured by the environment:
//
//	GD_PIDFILE, GD_LOGFILE, GD_STDOUT   workerman.PidFile, LogFile, StdoutFile
//	GD_ADDR                             the GlobalData server's address
//	GD_DIR                              where processes write what they did;
//	                                    the server writes server.pid there
//	GD_COUNTERS, GD_ROUNDS              a worker of GD_COUNTERS processes,
//	                                    each of which, in OnWorkerStart,
//	                                    increments "hits" GD_ROUNDS times and
//	                                    adds 1 to "cas" GD_ROUNDS times with a
//	                                    Cas loop, then writes counter-ID.json
//	GD_CTL, GD_TIMEOUT_MS               a text worker whose client (with that
//	                                    timeout) runs commands: "set KEY N",
//	                                    "incr KEY", "get KEY"
//
// ./gdapp dial ADDR ROUNDS does the counting of one counter process as a
// plain program with the blocking calls, and prints its result as JSON.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/globaldata"
)

// result is what one counting process did.
type result struct {
	Pid         int      `json:"pid"`
	Incremented int      `json:"incremented"`
	Swapped     int      `json:"swapped"`
	CasRetries  int      `json:"cas_retries"`
	Errors      []string `json:"errors"`
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// writeFile replaces a file at once, so a reader never sees half of it.
func writeFile(name string, data []byte) {
	path := filepath.Join(os.Getenv("GD_DIR"), name)
	if err := os.WriteFile(path+".tmp", data, 0o644); err != nil {
		panic(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		panic(err)
	}
}

// casState is the value under "cas": the count, and the count per pid.
// It is handled as a map, decoded and encoded again for each Cas.
func next(v globaldata.Value, pid string) (old, updated map[string]any, err error) {
	if v.Exists() {
		if err = v.Decode(&old); err != nil {
			return nil, nil, err
		}
		if err = v.Decode(&updated); err != nil {
			return nil, nil, err
		}
	} else {
		updated = map[string]any{"n": 0.0, "by": map[string]any{}}
	}
	updated["n"] = updated["n"].(float64) + 1
	by := updated["by"].(map[string]any)
	n, _ := by[pid].(float64)
	by[pid] = n + 1
	return old, updated, nil
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "dial" {
		rounds, _ := strconv.Atoi(os.Args[3])
		dial(os.Args[2], rounds)
		return
	}
	workerman.PidFile = os.Getenv("GD_PIDFILE")
	workerman.LogFile = os.Getenv("GD_LOGFILE")
	workerman.StdoutFile = os.Getenv("GD_STDOUT")
	addr := os.Getenv("GD_ADDR")

	s := globaldata.NewServer(addr)
	s.Worker.OnWorkerStart = func(*workerman.Worker) {
		writeFile("server.pid", []byte(strconv.Itoa(os.Getpid())))
	}

	if n := envInt("GD_COUNTERS", 0); n > 0 {
		w := workerman.NewWorker("")
		w.Name = "counter"
		w.Count = n
		w.OnWorkerStart = func(w *workerman.Worker) { count(w.ID, addr, envInt("GD_ROUNDS", 1000)) }
	}

	if ctl := os.Getenv("GD_CTL"); ctl != "" {
		w := workerman.NewWorker("text://" + ctl)
		w.Name = "ctl"
		var g *globaldata.Client
		w.OnWorkerStart = func(*workerman.Worker) {
			var err error
			g, err = globaldata.Connect([]string{addr}, &globaldata.Options{Timeout: time.Duration(envInt("GD_TIMEOUT_MS", 1000)) * time.Millisecond})
			if err != nil {
				panic(err)
			}
		}
		w.OnMessage = func(c *workerman.Connection, data any) { command(g, c, data.(string)) }
	}
	workerman.RunAll()
}

// count does the work of one counter process with the callback style, on
// the loop: the increments all at once, the Cas loop one attempt after the
// other.
func count(id int, addr string, rounds int) {
	g, err := globaldata.Connect([]string{addr}, nil)
	if err != nil {
		panic(err)
	}
	r := result{Pid: os.Getpid()}
	pid := strconv.Itoa(r.Pid)
	pendingParts := 2
	finish := func() {
		if pendingParts--; pendingParts == 0 {
			b, _ := json.Marshal(r)
			writeFile(fmt.Sprintf("counter-%d.json", id), b)
		}
	}
	fail := func(what string, err error) bool {
		r.Errors = append(r.Errors, what+": "+err.Error())
		return len(r.Errors) < 100
	}

	// Increment leaves a key that is not set alone: make sure it is set.
	// Requests for one key travel in order, so the Add is performed
	// before this process's increments.
	g.Add("hits", 0, nil)
	answered := 0
	for range rounds {
		g.Increment("hits", 1, func(n int64, ok bool, err error) {
			switch {
			case err != nil:
				fail("increment", err)
			case !ok:
				fail("increment", fmt.Errorf("not done"))
			default:
				r.Incremented++
			}
			if answered++; answered == rounds {
				finish()
			}
		})
	}

	var attempt func()
	attempt = func() {
		g.Get("cas", func(v globaldata.Value, err error) {
			if err != nil {
				if fail("get", err) {
					attempt()
				} else {
					finish()
				}
				return
			}
			old, updated, err := next(v, pid)
			if err != nil {
				fail("decode", err)
				finish()
				return
			}
			g.Cas("cas", old, updated, func(swapped bool, err error) {
				switch {
				case err != nil:
					if !fail("cas", err) {
						finish()
						return
					}
				case swapped:
					r.Swapped++
				default:
					r.CasRetries++
				}
				if r.Swapped == rounds {
					finish()
					return
				}
				attempt()
			})
		})
	}
	attempt()
}

// dial counts as a plain program with the blocking calls.
func dial(addr string, rounds int) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	g, err := globaldata.Dial(ctx, []string{addr}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	r := result{Pid: os.Getpid()}
	pid := strconv.Itoa(r.Pid)
	if _, err := g.AddContext(ctx, "hits", 0); err != nil {
		r.Errors = append(r.Errors, err.Error())
	}
	for range rounds {
		if _, ok, err := g.IncrementContext(ctx, "hits", 1); err != nil || !ok {
			r.Errors = append(r.Errors, fmt.Sprint("increment: ", ok, err))
		} else {
			r.Incremented++
		}
	}
	for r.Swapped < rounds && len(r.Errors) < 100 {
		v, err := g.GetContext(ctx, "cas")
		if err != nil {
			r.Errors = append(r.Errors, err.Error())
			continue
		}
		old, updated, err := next(v, pid)
		if err != nil {
			r.Errors = append(r.Errors, err.Error())
			break
		}
		swapped, err := g.CasContext(ctx, "cas", old, updated)
		switch {
		case err != nil:
			r.Errors = append(r.Errors, err.Error())
		case swapped:
			r.Swapped++
		default:
			r.CasRetries++
		}
	}
	g.Close()
	json.NewEncoder(os.Stdout).Encode(r)
}

// command runs one line of the ctl worker and answers it.
func command(g *globaldata.Client, c *workerman.Connection, line string) {
	f := strings.Fields(line)
	if len(f) < 2 {
		c.Send("err usage")
		return
	}
	answer := func(err error, ok string) {
		if err != nil {
			c.Send("err " + err.Error())
		} else {
			c.Send(ok)
		}
	}
	switch f[0] {
	case "set":
		n, _ := strconv.Atoi(f[2])
		g.Set(f[1], n, func(err error) { answer(err, "ok") })
	case "incr":
		g.Increment(f[1], 1, func(n int64, ok bool, err error) {
			if err == nil && !ok {
				c.Send("absent")
				return
			}
			answer(err, fmt.Sprint("ok ", n))
		})
	case "get":
		g.Get(f[1], func(v globaldata.Value, err error) {
			if err == nil && !v.Exists() {
				c.Send("absent")
				return
			}
			answer(err, "value "+v.String())
		})
	default:
		c.Send("err unknown command")
	}
}
