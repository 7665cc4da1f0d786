// Command channel-server runs a Channel server (package channel) as a
// program of its own, for several programs or hosts that publish and
// subscribe through it. It is managed like every Workerman program:
//
//	channel-server [flags] start [-d]
//	channel-server [flags] stop | restart | reload | status | connections
//
// Flags (before the command; stop, status and the others need the same
// -pidfile as start):
//
//	-listen addr            where to listen: host:port, tcp://host:port or
//	                        unix:///path (default 127.0.0.1:2206, loopback:
//	                        the server has no authentication)
//	-pidfile path           the master's pid file (default: one in the
//	                        temporary directory named after this binary)
//	-logfile path           the framework's log (default: beside the pid
//	                        file)
//	-stdoutfile path        the daemon's output (default: discarded)
//	-max-package-size n     the largest frame a client may send, in bytes
//	                        (default 10 MiB)
//	-max-send-buffer-size n what the server keeps queued for one client
//	                        before disconnecting it as too slow, in bytes
//	                        (default 16 MiB)
//	-max-queue-items n      items a queue keeps while nobody watches it
//	                        (default 100000)
//
// Clients connect with channel.Connect or channel.Dial. Events are relayed,
// not stored: a stopped server loses the items waiting in its queues.
package main

import (
	"flag"

	"github.com/workerman-go/workerman/channel"
	"github.com/workerman-go/workerman/internal/servercmd"
)

func main() {
	common := servercmd.Define(channel.DefaultAddress)
	maxPackage := flag.Int("max-package-size", 10<<20, "largest frame a client may send, in bytes")
	maxSendBuffer := flag.Int("max-send-buffer-size", 16<<20, "bytes kept queued for one client before it is disconnected as too slow")
	maxQueueItems := flag.Int("max-queue-items", 100000, "items a queue keeps while nobody watches it")
	common.Parse()

	s := channel.NewServer(*common.Listen)
	s.MaxPackageSize = *maxPackage
	s.MaxSendBufferSize = *maxSendBuffer
	s.MaxQueueItems = *maxQueueItems
	servercmd.Run()
}
