// Command proxymysql is the manual's MySQL proxy (AsyncTcpConnection::
// connect example): it listens on port 4406 and relays each client to the
// real server on 127.0.0.1:3306.
//
//	go run ./examples/proxymysql start
//	mariadb -uroot -P4406 -h127.0.0.1 -p
//
// PROXY_LISTEN and MYSQL_ADDRESS override the two addresses.
//
// The callbacks are the manual's, plus the flow control it leaves out:
// when one side cannot keep up, the other side stops reading until it
// drains, so a client reading a large result slowly holds the server back
// instead of filling the proxy's memory (and, past MaxSendBufferSize,
// losing packets). Connection.Pipe does the same in two lines.
package main

import (
	"log"
	"log/slog"
	"os"

	"github.com/workerman-go/workerman"
)

// newMySQLProxy returns the proxy worker listening on listen, relaying to
// the MySQL server at mysqlAddress ("tcp://host:port").
func newMySQLProxy(listen, mysqlAddress string) *workerman.Worker {
	proxy := workerman.NewWorker(listen)
	proxy.Name = "mysql-proxy"
	proxy.OnConnect = func(connection *workerman.Connection) {
		// An asynchronous connection to the real MySQL server.
		toMySQL, err := workerman.NewAsyncTcpConnection(mysqlAddress, nil)
		if err != nil {
			slog.Error("mysql address", "err", err)
			connection.Close()
			return
		}
		// Data from MySQL goes to the client.
		toMySQL.OnMessage = func(_ *workerman.Connection, buffer any) {
			connection.Send(buffer)
		}
		// When the MySQL connection closes, close the client's.
		toMySQL.OnClose = func(*workerman.Connection) {
			connection.Close()
		}
		// When the MySQL connection fails, close the client's.
		toMySQL.OnError = func(_ *workerman.Connection, code int, msg string) {
			slog.Warn("mysql connection error", "code", code, "msg", msg)
			connection.Close()
		}
		// Data from the client goes to MySQL.
		connection.OnMessage = func(_ *workerman.Connection, buffer any) {
			toMySQL.Send(buffer)
		}
		// When the client goes, close the MySQL connection.
		connection.OnClose = func(*workerman.Connection) {
			toMySQL.Close()
		}
		connection.OnError = func(*workerman.Connection, int, string) {
			toMySQL.Close()
		}
		// Flow control: a full send buffer on one side pauses reading on
		// the other until the buffer drains.
		connection.OnBufferFull = func(*workerman.Connection) { toMySQL.PauseRecv() }
		connection.OnBufferDrain = func(*workerman.Connection) { toMySQL.ResumeRecv() }
		toMySQL.OnBufferFull = func(*workerman.Connection) { connection.PauseRecv() }
		toMySQL.OnBufferDrain = func(*workerman.Connection) { connection.ResumeRecv() }

		toMySQL.Connect()
	}
	return proxy
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	newMySQLProxy(env("PROXY_LISTEN", "tcp://0.0.0.0:4406"), env("MYSQL_ADDRESS", "tcp://127.0.0.1:3306"))
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
