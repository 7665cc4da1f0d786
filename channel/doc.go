// Package channel is Workerman's Channel component: publish/subscribe
// between the processes of a program, and between programs and hosts.
//
// A Server relays events; every process that wants them connects a Client.
// In the program itself the server is one more worker, started like any
// other by RunAll (the manual's new Channel\Server() in start.php):
//
//	channel.NewServer("127.0.0.1:2206")
//	ws := workerman.NewWorker("websocket://0.0.0.0:4236")
//	ws.Count = 6
//	var ch *channel.Client
//	ws.OnWorkerStart = func(w *workerman.Worker) {
//		ch, _ = channel.Connect("127.0.0.1:2206", nil)
//		ch.On("broadcast", func(d channel.Data) {
//			for _, c := range w.Connections {
//				c.Send(d.String())
//			}
//		})
//	}
//	ws.OnMessage = func(c *workerman.Connection, data any) {
//		ch.Publish("broadcast", data)
//	}
//	workerman.RunAll()
//
// cmd/channel-server runs the same server as a program of its own, for
// several hosts or programs. It listens on TCP, or on a Unix socket
// ("unix:///run/app/channel.sock") when everything is on one host.
//
// # Clients
//
// Connect makes a client on the calling process's event loop; call it in
// OnWorkerStart. Its callbacks (On, Watch, Count) run on that loop, like
// every other callback. Dial is for a plain Go program (a cron job, an
// admin tool): it starts the process's loop on a goroutine (see
// workerman.StartLoop), waits until the client is connected, and the
// callbacks run on that goroutine. Every method of a Client may be called
// from any goroutine; nothing blocks the loop.
//
// A client reconnects by itself after a disconnect, with a delay that
// grows from 50 ms to 2 s, and subscribes again to what it subscribed to.
// Publishes made while it is disconnected are kept in its queue, in order,
// and sent when the link is back. The queue is bounded (Options.MaxPending,
// 4 MiB by default): past it, Publish returns ErrQueueFull, and Stats
// counts the refusal. Nothing is dropped without the caller being told.
//
// # Delivery
//
// An event goes to every client subscribed to it at the moment the server
// reads it, in the order the server reads them; a client with no
// subscriber for an event never receives it. Delivery is at most once:
// events the server wrote to a connection that is then lost, and events
// published while a subscriber was disconnected, are not delivered to it
// again. A subscriber that cannot keep up (its connection's send buffer
// reaches Server.MaxSendBufferSize) is disconnected rather than skipped
// silently; it reconnects, and Options.OnDisconnect tells the application
// that it may have missed events.
//
// A restarted server (the master replaces one that died) sees its
// clients come back one by one, and events that the first ones publish
// from their queues could miss those still reconnecting. So during its
// first Server.StartupReplay (3 s) a server keeps the events published to
// it and replays them to each client that subscribes within that time:
// what was published during the gap reaches every subscriber once the
// links are back. The price: a client that subscribes in those seconds
// also gets the events published before it subscribed, and one that loses
// its new connection again within them may get an event twice.
//
// A queue (Enqueue and Watch, Workerman's enqueue/watch) delivers each item
// to one watcher, in turn. Items enqueued while nobody watches wait in the
// server, up to Server.MaxQueueItems per queue; past that the server
// refuses them and the client reports it through Options.OnError. A
// watcher is given items only while its send buffer has room for them;
// the others wait in the server, in order, and follow as it drains, so a
// backlog never disconnects a watcher. An item the kernel has taken for a
// watcher whose connection is then lost is not given again (at most
// once); one still waiting in the server's send buffer for that watcher
// goes back to the front of its queue.
//
// # Backends
//
// The address given to Connect or Dial chooses where events travel:
//
//	127.0.0.1:2206, unix:///run/app/channel.sock    a Channel server (above)
//	nats://10.0.0.1:4222,nats://10.0.0.2:4222       a NATS server or cluster
//	redis://10.0.0.1:6379/0, rediss://...           a Redis server
//
// The Client's API and callbacks are the same on every backend; only the
// guarantees below differ. docs/backends.md compares them in full.
//
// On NATS an event is a message on the core subject wm.e.<event> (the
// name escaped into one subject token), so only the processes subscribed
// to it receive it. Each queue is the subject wm.q.<queue>, and its
// watchers form a queue group: the server gives each item to one of them.
// An item enqueued while no watcher is subscribed is dropped (NATS keeps
// nothing), and the client says so through Options.OnError. Count asks
// the subscribers themselves: every client subscribed to the event
// answers with its SetMembers number, and the count adds up the answers
// that arrive until 50 ms pass without one (1 s at most). A process that
// died or hangs does not answer, so it is never counted.
//
// The client connects in the background and reconnects by itself, to the
// same server or any other member of the cluster (those given in the
// address and those the cluster announces), and subscribes again. It
// notices a dead server within about 6 s (two missed pings 2 s apart),
// at once when the server's process ends. Publishes made while it is
// disconnected wait in the client's queue, in order, bounded by
// Options.MaxPending (ErrQueueFull past it), as with a Channel server.
// Delivery is at most once: events published while a subscriber is
// disconnected, or between a node's failure and the subscriber's
// subscription on another node, are not delivered to it (on a loopback
// cluster the test measures a window of about 10 ms). OnDisconnect and
// OnConnect report both ends of that window. A subscriber that does not
// keep up (64 Ki events waiting for the loop) loses events rather than
// stalling the connection, and OnError says so.
//
// On Redis an event is published on the pub/sub channel wm:e:<event>,
// which only the processes subscribed to it receive. A queue is the list
// wm:q:<queue>: Enqueue is LPUSH and the watchers take items with BRPOP,
// so items wait in Redis while nobody watches (with no bound but Redis's
// memory), and each goes to one watcher. Count publishes a question on
// the event's channel; PUBLISH tells how many clients received it, and
// the count waits for exactly their answers (1 s at most, so a client
// that hangs is left out). A client's one pub/sub connection is watched
// with a ping after 5 s of silence; when it breaks, OnDisconnect runs,
// the client reconnects (50 ms to 1 s apart) and subscribes again, and
// OnConnect runs. Publishes made while Redis cannot be reached wait in the
// client's queue as above; a pipeline of publishes that fails after it
// may have reached Redis is not sent again (at most once), and OnError
// reports it. A subscriber that does not keep up stops reading its
// connection, and Redis disconnects it past its client-output-buffer-limit
// for pub/sub (the client reconnects; OnDisconnect tells of the gap).
//
// # Data
//
// Data may be a []byte, a string, or any value encoding/json can encode.
// It travels with its kind, so a subscriber gets a string as a string and
// bytes as bytes; anything else arrives as its JSON text, which
// Data.Decode unmarshals. A json.RawMessage is sent as JSON without being
// encoded again.
//
// # Wire format
//
// Client and server exchange frames: a 4-byte big-endian length that
// counts itself, then the payload (Workerman's frame protocol). A payload
// starts with one operation byte; strings are a varint length (Go's
// encoding/binary Uvarint) and the bytes; data is a kind byte (0 bytes,
// 1 string, 2 JSON) and the rest of the frame.
//
//	client → server
//	'S' event:string members:uvarint   subscribe (members: see SetMembers)
//	'U' event:string                   unsubscribe
//	'P' event:string kind data         publish
//	'W' queue:string                   watch a queue
//	'X' queue:string                   stop watching
//	'Q' queue:string kind data         enqueue
//	'C' id:uvarint event:string        ask for an event's subscriber count
//	server → client
//	'M' event:string kind data         an event
//	'J' queue:string kind data         a queue item
//	'c' id:uvarint subscribers:uvarint members:uvarint
//	'E' message:string                 an error the server reports
//
// The server reads every frame up to Server.MaxPackageSize (10 MiB by
// default) and disconnects a client whose frame is longer, malformed, or
// of an unknown operation; other clients are not affected.
package channel
