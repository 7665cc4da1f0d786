// Command clients-exec runs child processes from a worker with os/exec and
// streams their output to the client without blocking the event loop: a
// goroutine of a bounded workerman.AsyncPool reads the child's output and
// hands it to the loop one chunk at a time, waiting while the client's send
// buffer is full, so a slow client slows the child instead of filling
// memory. The child is killed when the client disconnects.
//
//	go run ./examples/clients-exec start
//	telnet 127.0.0.1 8094
//	seq 1 5
//
// Only the programs in allowed may be run. TEXT_LISTEN moves the server.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/workerman-go/workerman"
)

// allowed are the programs a client may run: never run what a client
// names without a list like this one.
var allowed = map[string]bool{"seq": true, "yes": true, "echo": true, "sleep": true, "false": true}

// chunk bounds one piece of output handed to the loop.
const chunk = 32 << 10

// stream is the loop's side of one running child: the goroutine that reads
// the child waits on more before it reads further.
type stream struct {
	more    chan struct{}
	waiting bool // the send buffer was full; more is given at drain
}

// deliver sends b to c on the loop and lets the reader go on at once, or
// when c's send buffer has drained.
func (s *stream) deliver(c *workerman.Connection, b []byte) {
	c.SendRaw(b)
	if c.BufferIsFull() {
		s.waiting = true
		return
	}
	s.resume()
}

// resume lets the reader go on; it never blocks the loop, as at most one
// piece is outstanding.
func (s *stream) resume() {
	select {
	case s.more <- struct{}{}:
	default:
	}
}

func (s *stream) drained(*workerman.Connection) {
	if s.waiting {
		s.waiting = false
		s.resume()
	}
}

// run starts the child and copies its output to c until it ends or ctx
// does; it returns the child's exit code.
func run(ctx context.Context, c *workerman.Connection, s *stream, args []string) (int, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.WaitDelay = time.Second // do not wait for grandchildren holding the pipe
	out, err := cmd.StdoutPipe()
	if err != nil {
		return -1, err
	}
	if err := cmd.Start(); err != nil {
		return -1, err
	}
	pid := cmd.Process.Pid
	workerman.Post(func() { c.Send(fmt.Sprintf("started pid %d", pid)) })
	buf := make([]byte, chunk)
	var held []byte // the end of an unfinished line
	for {
		n, rerr := out.Read(buf[len(held):])
		data := buf[:len(held)+n]
		// Hand complete lines to the loop; keep a partial last line for
		// the next read, unless the buffer is full of one long line.
		cut := bytes.LastIndexByte(data, '\n') + 1
		if rerr != nil || cut == 0 && len(data) == len(buf) {
			cut = len(data)
		}
		if cut > 0 {
			piece := bytes.Clone(data[:cut])
			if rerr != nil && piece[len(piece)-1] != '\n' {
				piece = append(piece, '\n')
			}
			workerman.Post(func() { s.deliver(c, piece) })
			select {
			case <-s.more:
			case <-ctx.Done():
			}
		}
		held = append(buf[:0], data[cut:]...)
		if rerr != nil || ctx.Err() != nil {
			break
		}
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return -1, err
	}
	return 0, nil
}

// newServer returns a text worker: each line is a command, answered with
// "started pid N", the child's output, and "exit N".
func newServer(listen string) *workerman.Worker {
	w := workerman.NewWorker("text://" + listen)
	w.Count = 2
	w.Name = "clients-exec"
	// At most 16 children per process, 16 more waiting to start.
	pool := &workerman.AsyncPool{Workers: 16, Queue: 16}
	w.OnMessage = func(c *workerman.Connection, data any) {
		args := strings.Fields(data.(string))
		if len(args) == 0 || !allowed[args[0]] {
			c.Send("error: not allowed")
			return
		}
		if c.UserData != nil {
			c.Send("error: a command is running")
			return
		}
		s := &stream{more: make(chan struct{}, 1)}
		c.UserData = s
		c.OnBufferDrain = s.drained
		// The context given to run ends when c closes, and
		// exec.CommandContext then kills the child.
		err := workerman.AsyncOn(pool, c, func(ctx context.Context) (int, error) {
			return run(ctx, c, s, args)
		}, func(code int, err error) {
			c.UserData = nil
			if err != nil {
				c.Send("error: " + err.Error())
				return
			}
			c.Send(fmt.Sprintf("exit %d", code))
		})
		if err != nil {
			c.UserData = nil
			c.Send("error: " + err.Error())
		}
	}
	return w
}

func main() {
	listen := os.Getenv("TEXT_LISTEN")
	if listen == "" {
		listen = "0.0.0.0:8094"
	}
	newServer(listen)
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
