// Package globaldata is Workerman's GlobalData component: variables shared
// by the processes of a program, and by programs on several hosts.
//
// A Server holds the variables in the memory of its process; every process
// that uses them connects a Client. In the program itself the server is one
// more worker, started like any other by RunAll (the manual's
// new GlobalData\Server() in start.php):
//
//	globaldata.NewServer("127.0.0.1:2207")
//	w := workerman.NewWorker("text://0.0.0.0:6636")
//	w.Count = 4
//	var global *globaldata.Client
//	w.OnWorkerStart = func(*workerman.Worker) {
//		global, _ = globaldata.Connect([]string{"127.0.0.1:2207"}, nil)
//		global.Add("requests", 0, nil) // Increment needs the key set
//	}
//	w.OnMessage = func(c *workerman.Connection, data any) {
//		global.Increment("requests", 1, func(n int64, ok bool, err error) {
//			c.Send(fmt.Sprint("request number ", n))
//		})
//	}
//	workerman.RunAll()
//
// cmd/globaldata-server runs the same server as a program of its own, for
// several programs or hosts. It listens on TCP, or on a Unix socket
// ("unix:///run/app/global.sock") when everything is on one host. The
// server has no authentication and keeps nothing on disk: reload leaves
// its process alone, but the variables are lost when that process ends
// (the master starts a new, empty one).
//
// # Values
//
// A variable holds any value encoding/json can encode, stored as its JSON
// encoding; Get returns a Value that Decode unmarshals. As in the manual,
// a value is copied in and out: change a local copy, then store it again,
// and use Cas when other processes may change it in between. Connections,
// channels and functions cannot be shared.
//
//	Manual (PHP)                     Client
//	$global->key                     Get
//	$global->key = $v                Set
//	isset($global->key)              Isset
//	unset($global->key)              Unset
//	$global->add($key, $v)           Add      (only if not set)
//	$global->cas($key, $old, $new)   Cas      (only if still $old)
//	$global->increment($key, $step)  Increment
//
// Each operation is atomic on the server, which performs the requests of
// all clients one at a time. Cas compares values by their JSON encoding;
// see Client.Cas.
//
// # Two call styles
//
// On the event loop (in OnWorkerStart, OnMessage, timers), use the
// callback style: Get, Set, Isset, Unset, Add, Cas and Increment return at
// once, and their callback runs later on the loop with the result, never
// inside the call; nothing blocks the loop. A nil callback is allowed
// where there is no result to read (Set, Unset, and the others when the
// result does not matter); failures are then logged.
//
// On any other goroutine (a plain Go program, a goroutine of Async), use
// the blocking style: GetContext, SetContext and the others wait for the
// result and return it. Never call them on the loop: the loop would wait
// for itself (they give up after Options.Timeout and say so).
//
// Requests of one goroutine to one key are performed in the order they
// were made.
//
// # Failures
//
// A client reconnects by itself after a disconnect, with a delay that
// grows from 50 ms to 2 s. Requests made while a server is unreachable
// wait in the client, in order, and are sent when it is back; they are
// bounded in bytes (Options.MaxPending) and in time (Options.Timeout,
// 10 s, and the context in the blocking style). Every request ends with
// exactly one outcome:
//
//   - the server's answer;
//   - ErrNotSent: it was never sent (the server stayed unreachable until
//     its timeout, its context ended, or the client was closed). It is
//     dropped and never takes effect later;
//   - ErrOutcomeUnknown: it was sent, or being sent, and the connection
//     was lost (or its time ran out) before the answer: it may or may not
//     have taken effect;
//   - ErrQueueFull: the client's queue for that server was full; it was
//     not sent.
//
// Timeouts also match context.DeadlineExceeded. Stats counts each kind.
//
// # Several servers
//
// A client given several addresses spreads the keys over them: a key
// lives on the server numbered crc32(key) mod the number of servers (CRC-32
// IEEE, as Workerman's client computes it), over one connection per
// server. Every client must list the same servers in the same order. A
// server that is unreachable affects only its own keys.
//
// # Backends
//
// Instead of GlobalData servers, the addresses may name a key-value
// service; the Client's API is the same:
//
//	[]string{"nats://10.0.0.1:4222,nats://10.0.0.2:4222"}   NATS JetStream
//	[]string{"redis://10.0.0.1:6379/0"}                      Redis
//
// On NATS the variables live in the JetStream key-value bucket
// workerman_globaldata, which the first client creates with one replica
// per server listed (up to three; a cluster listed by one URL gets one
// replica). Get, Set, Isset and Unset map to the bucket's operations; Add
// is Create; Cas reads the key's last revision, compares its value and
// writes with Update at that revision, reading again if another write
// came in between; Increment is the same loop. Each write is replicated
// by JetStream before it is answered, so a value survives the loss of a
// minority of the replicas, and a client that fails over to another node
// keeps seeing it. A value is bounded by the servers' max_payload (1 MiB
// by default); a larger one is refused with an error. Keys are stored
// escaped (bytes other than letters, digits, '-' and '_' as =XX).
//
// On Redis each variable is the string key wm:g:<key>: Add is SET NX, Cas
// a Lua script that compares and sets, Increment INCRBY inside a script
// that leaves a key not set alone (a value that is not an integer is
// incremented like the server does, with the Cas script). Every operation
// is atomic on the Redis server; durability is Redis's (RDB, AOF,
// replicas), and a failover to a replica may lose the last writes.
//
// On both, requests run on the client's goroutines (a key's requests on
// the same one, in order) and their callbacks on the loop. While the
// service is unreachable, requests wait and are tried again until their
// timeout (ErrNotSent); one that fails after it may have reached the
// service ends with ErrOutcomeUnknown, and is never sent twice.
// docs/backends.md compares the backends.
//
// # Wire format
//
// Client and server exchange frames: a 4-byte big-endian length that
// counts itself, then the payload (Workerman's frame protocol). Integers
// are unsigned varints (Go's encoding/binary Uvarint), except the step of
// an increment, which is a signed zigzag varint (binary.Varint); strings
// and values are a varint length and the bytes. A value is JSON text.
//
//	client → server: op:byte id:uvarint key:string ...
//	'G' id key                   get
//	'S' id key value             set
//	'I' id key                   isset
//	'U' id key                   unset
//	'A' id key value             add: set only if the key is not set
//	'C' id key old:value value   cas: set only if the stored value's bytes
//	                             equal old ("null" for a key not set)
//	'N' id key step:varint       increment
//	server → client:
//	'R' id status:byte [value | message:string]
//
// The id is the client's number for the request; the reply carries it
// back. Status is 0 (not set, not added, not swapped, not incremented), 1
// (done; a get's reply carries the value, an increment's the new number as
// JSON), or 2 (refused; the message says why, for example an increment
// that overflows int64). The server answers the requests of a connection
// in order.
//
// The server reads every frame up to Server.MaxPackageSize (10 MiB by
// default) and disconnects a client whose frame is longer, malformed, of
// an unknown operation, or carries a value that is not valid JSON; other
// clients are not affected.
package globaldata
