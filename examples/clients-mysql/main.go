// Command clients-mysql is the manual's MySQL component example in Go: an
// HTTP worker with two processes answers from MariaDB or MySQL through
// database/sql and github.com/go-sql-driver/mysql. Each process opens its
// own connection pool in OnWorkerStart, prepares its statements once, and
// runs every query on a bounded workerman.AsyncPool, so a slow or dead
// database never stalls the event loop and never piles up goroutines.
//
//	MYSQL_DSN='user:pass@tcp(127.0.0.1:3306)/app' go run ./examples/clients-mysql start
//	curl 'http://127.0.0.1:8090/user?id=1'
//	curl -X POST 'http://127.0.0.1:8090/transfer?from=1&to=2&amount=10'
//
// The tables are in the schema constant; HTTP_LISTEN moves the server and
// PID_FILE names the master's pid file. GET /stats shows the answering
// process's database and AsyncPool figures.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/protocols/http"
)

// schema creates the example's tables: the manual's Persons, and accounts
// for the transaction.
const schema = `
CREATE TABLE IF NOT EXISTS persons (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, sex CHAR(1) NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS transfers (id BIGINT AUTO_INCREMENT PRIMARY KEY, src INT NOT NULL, dst INT NOT NULL, amount BIGINT NOT NULL)`

// Person is a row of persons.
type Person struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	Sex  string `json:"sex"`
}

// ErrInsufficient is a transfer refused because the source account lacks
// the amount.
var ErrInsufficient = errors.New("insufficient funds")

// store is one process's database access.
type store struct {
	db *sql.DB

	mu      sync.Mutex
	byID    *sql.Stmt // prepared once, re-prepared by database/sql per connection
	debit   *sql.Stmt
	credit  *sql.Stmt
	journal *sql.Stmt
	lock    *sql.Stmt
}

// conns bounds the process's database connections; the AsyncPool has as
// many workers, so requests wait in the pool's bounded queue, not inside
// database/sql.
const conns = 8

func openStore(dsn string) (*store, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	// Fail fast when the server is down or unreachable.
	cfg.Timeout = 2 * time.Second
	cfg.ReadTimeout = 10 * time.Second
	cfg.WriteTimeout = 10 * time.Second
	cfg.ParseTime = true
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(5 * time.Minute)
	return &store{db: db}, nil
}

// prepare prepares the statements the first time it succeeds; until then
// (the database is down when the process starts) each call tries again.
func (s *store) prepare(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID != nil {
		return nil
	}
	var stmts [5]*sql.Stmt
	for i, q := range []string{
		"SELECT id, name, sex FROM persons WHERE id = ?",
		"UPDATE accounts SET balance = balance - ? WHERE id = ? AND balance >= ?",
		"UPDATE accounts SET balance = balance + ? WHERE id = ?",
		"INSERT INTO transfers (src, dst, amount) VALUES (?, ?, ?)",
		"SELECT id FROM accounts WHERE id IN (?, ?) ORDER BY id FOR UPDATE",
	} {
		st, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			for _, p := range stmts[:i] {
				p.Close()
			}
			return err
		}
		stmts[i] = st
	}
	s.byID, s.debit, s.credit, s.journal, s.lock = stmts[0], stmts[1], stmts[2], stmts[3], stmts[4]
	return nil
}

// person is the manual's query: one row by id through a prepared statement.
func (s *store) person(ctx context.Context, id int) (Person, error) {
	var p Person
	if err := s.prepare(ctx); err != nil {
		return p, err
	}
	err := s.byID.QueryRowContext(ctx, id).Scan(&p.ID, &p.Name, &p.Sex)
	return p, err
}

// transfer moves amount from one account to another in one transaction,
// and journals it; nothing changes unless all of it does. A transaction
// that InnoDB chose as a deadlock victim is tried again, as MySQL advises.
func (s *store) transfer(ctx context.Context, from, to int, amount int64) error {
	if err := s.prepare(ctx); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := s.transferOnce(ctx, from, to, amount)
		var me *mysql.MySQLError
		if attempt < 3 && errors.As(err, &me) && me.Number == 1213 { // ER_LOCK_DEADLOCK
			continue
		}
		return err
	}
}

func (s *store) transferOnce(ctx context.Context, from, to int, amount int64) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	// Lock both rows in id order, so two opposite transfers queue behind
	// each other instead of deadlocking.
	if _, err := tx.StmtContext(ctx, s.lock).ExecContext(ctx, min(from, to), max(from, to)); err != nil {
		return err
	}
	res, err := tx.StmtContext(ctx, s.debit).ExecContext(ctx, amount, from, amount)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return ErrInsufficient
	}
	res, err = tx.StmtContext(ctx, s.credit).ExecContext(ctx, amount, to)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("no account %d", to)
	}
	if _, err := tx.StmtContext(ctx, s.journal).ExecContext(ctx, from, to, amount); err != nil {
		return err
	}
	return tx.Commit()
}

// newServer returns the HTTP worker. Each process opens its own store in
// OnWorkerStart and closes it in OnWorkerStop.
func newServer(listen, dsn string) *workerman.Worker {
	w := workerman.NewWorker("http://" + listen)
	w.Count = 2
	w.Name = "clients-mysql"
	var st *store
	// The pool runs at most conns queries at once and lets 64 wait; past
	// that the client gets 503 at once. Each query has 5 seconds in all.
	pool := &workerman.AsyncPool{Workers: conns, Queue: 64, Timeout: 5 * time.Second}
	w.OnWorkerStart = func(*workerman.Worker) {
		var err error
		if st, err = openStore(dsn); err != nil {
			log.Fatalf("MYSQL_DSN: %v", err)
		}
	}
	w.OnWorkerStop = func(*workerman.Worker) { st.db.Close() }
	w.OnMessage = func(c *workerman.Connection, data any) {
		r := data.(*http.Request)
		var err error
		switch r.Path() {
		case "/user":
			id, _ := strconv.Atoi(r.Get("id"))
			err = workerman.AsyncOn(pool, c, func(ctx context.Context) (Person, error) {
				return st.person(ctx, id)
			}, func(p Person, err error) {
				switch {
				case errors.Is(err, sql.ErrNoRows):
					c.Send(http.NewResponse(404, nil, "no such person\n"))
				case err != nil:
					c.Send(unavailable(err))
				default:
					b, _ := json.Marshal(p)
					c.Send(http.NewResponse(200, map[string]string{"Content-Type": "application/json"}, string(b)))
				}
			})
		case "/transfer":
			from, _ := strconv.Atoi(r.Get("from"))
			to, _ := strconv.Atoi(r.Get("to"))
			amount, _ := strconv.ParseInt(r.Get("amount"), 10, 64)
			if amount <= 0 || from == to {
				c.Send(http.NewResponse(400, nil, "bad transfer\n"))
				return
			}
			err = workerman.AsyncOn(pool, c, func(ctx context.Context) (struct{}, error) {
				return struct{}{}, st.transfer(ctx, from, to, amount)
			}, func(_ struct{}, err error) {
				switch {
				case errors.Is(err, ErrInsufficient):
					c.Send(http.NewResponse(409, nil, "insufficient funds\n"))
				case err != nil:
					c.Send(unavailable(err))
				default:
					c.Send("ok\n")
				}
			})
		case "/stats":
			// This process's figures: its own database pool and AsyncPool.
			b, _ := json.Marshal(map[string]any{"pid": os.Getpid(), "db": st.db.Stats(), "async": pool.Stats()})
			c.Send(http.NewResponse(200, map[string]string{"Content-Type": "application/json"}, string(b)))
			return
		default:
			c.Send(http.NewResponse(404, nil, "not found\n"))
			return
		}
		if err != nil { // ErrAsyncBusy: the database is behind; shed load
			c.Send(http.NewResponse(503, map[string]string{"Retry-After": "1"}, "busy: "+err.Error()+"\n"))
		}
	}
	return w
}

// unavailable is the answer to a failed query: 503 with the driver's
// error, so a client (or a load balancer) sees at once what is wrong.
func unavailable(err error) *http.Response {
	return http.NewResponse(503, map[string]string{"Retry-After": "1"}, "database unavailable: "+err.Error()+"\n")
}

func main() {
	listen := os.Getenv("HTTP_LISTEN")
	if listen == "" {
		listen = "0.0.0.0:8090"
	}
	dsn := os.Getenv("MYSQL_DSN")
	if dsn == "" {
		dsn = "root@tcp(127.0.0.1:3306)/app"
	}
	if p := os.Getenv("PID_FILE"); p != "" {
		workerman.PidFile = p
	}
	newServer(listen, dsn)
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
