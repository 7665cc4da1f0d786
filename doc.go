// Package workerman is a socket-server framework after PHP's Workerman: a
// worker listens on an address, speaks a protocol, and runs your callbacks
// on one event loop per process.
//
//	w := workerman.NewWorker("text://0.0.0.0:5678")
//	w.Count = 4
//	w.OnMessage = func(c *workerman.Connection, data any) {
//		c.Send("hello " + data.(string))
//	}
//	workerman.RunAll()
//
// # Processes and commands
//
// RunAll reads a command from the program's arguments, as Workerman does
// (./app start, start -d, stop, stop -g, restart, reload, reload -g,
// status, status -d, connections). start makes the launching process the
// master, which opens the listening sockets and runs Count processes of
// each worker by executing the program again; a dead process is replaced,
// and reload swaps them for processes running the binary now on disk
// without refusing a connection: WebSocket clients get a close frame with
// status 1001, HTTP keep-alive clients "Connection: close" after the
// request in flight (see Drainer), and reconnect to a new process. Code before
// RunAll therefore runs in every process: create workers and set fields
// there, and open per-process resources (database handles, timers,
// outbound connections) in OnWorkerStart. RunAll's documentation has the
// details.
//
// A panic in a callback ends that worker process, as an uncaught exception
// does in Workerman; the master logs the exit and starts a new process.
//
// # Addresses and protocols
//
// The scheme of a worker's address names its protocol: tcp (raw bytes),
// udp, unix (a Unix stream socket), text (lines), frame (4-byte length
// prefix), and every protocol registered with RegisterProtocol, such as
// http and websocket from the protocols directory, or your own. IPv6
// addresses are written in brackets ("tcp://[::1]:8686"); ":::8686" listens
// on every IPv6 and IPv4 address.
//
// A protocol is three methods (Input, Decode, Encode; see Protocol). Input
// says how long the next package is, and the framework buffers exactly that
// much, never more than the connection's MaxPackageSize.
//
// # One loop per process
//
// Every callback of a process (OnConnect, OnMessage, OnClose, timers,
// signal handlers, outbound connections, descriptors watched through
// EventLoop) runs on the same goroutine, one at a time. State touched only
// from callbacks needs no locks. Connection methods must be called on that
// goroutine; other goroutines hand work to it with Post, and Async runs
// blocking work on a goroutine and delivers the result back on the loop. A
// callback that starts or wakes a goroutine of its own reports it with
// EventLoop().Readied, so that the goroutine runs before the loop next
// blocks (see eventloop.Loop.Readied).
//
// A []byte message (from the tcp, udp and frame protocols) is only valid
// during the OnMessage call that receives it: copy it to keep it. Send
// copies whatever it has to queue, so sending it back is always safe.
//
// # Sending
//
// Send has the three outcomes of Workerman's send: SendOK (handed to the
// kernel), SendQueued (waiting in the connection's send buffer) and
// SendFailed. The send that makes the buffer reach MaxSendBufferSize is
// queued and fires OnBufferFull; while the buffer stays full, sends are
// dropped, OnError receives SendFail and the process's send_fail counter
// grows. OnBufferDrain fires when the buffer has been written out. Pipe
// uses these to forward one connection to another without unbounded
// buffering.
//
// When one read brings several messages (pipelined requests, a burst of
// WebSocket frames), the output of every message but the last, to any
// connection, is queued (Send returns SendQueued; SendOK over TLS, where
// it is sealed at once) and each connection's share is written once after
// the last: a burst of k messages fanned out to n connections costs n
// writes, not k×n. A connection's queued output is written early once it
// reaches 64 KiB or its MaxSendBufferSize, so the buffer's limit still
// applies only to what the kernel has not taken.
//
// # TLS and outbound connections
//
// Transport "ssl" serves any protocol over TLS with the standard
// crypto/tls: build Worker.TLSConfig with SSLOptions.ServerConfig (the
// manual's local_cert, local_pk, passphrase, cafile, verify_peer …). Its
// socket is on the event loop like a plain one and crypto/tls runs there
// over an in-memory transport, so its callbacks and send-buffer rules are
// those of any connection; only the handshake runs on a goroutine of its
// own. bench/tls compares it with crypto/tls over net. NewAsyncTcpConnection connects out ("tcp://", "text://", "ws://",
// "wss://", any registered scheme) without blocking the loop, and
// NewAsyncUdpConnection sends datagrams.
//
// # Systems
//
// Linux runs everything. macOS and the BSDs run the same process model on
// kqueue. Windows runs the portable mode: start in the foreground, in one
// process, every connection served by goroutines over a net.Conn; UDP
// workers and outbound connections are refused with an error there, and
// the commands that need a master (-d, stop, reload, status) exit with a
// usage error. The README's Platform section lists the limits.
//
// # Timers
//
// Timer.Add runs a function every interval, Timer.Once runs it once, both
// with millisecond precision, on the loop. A slow callback delays the
// others; it never overlaps them.
package workerman
