package workerman

import "github.com/workerman-go/workerman/eventloop"

// Output batching on the epoll path.
//
// When one read brings several messages (pipelined HTTP requests, a burst
// of WebSocket frames), every message but the last is handled while more
// input waits behind it. What handlers send then, to any connection, is
// queued instead of written, and each connection that got output is
// written once when the batch ends: a publisher's burst of k messages
// fanned out to n subscribers costs n writes, not k×n. A connection's
// queued output is written early once it reaches batchFlushSize, so a
// batch holds at most that much per connection in user space, and the
// send buffer's limit (MaxSendBufferSize) applies to what the kernel has
// not taken, as without batching.
//
// io_uring connections need none of this: their output always waits for
// the end of the loop's round (connection_completion.go). TLS connections
// on the loop gather their sealed records the same way (tls_io.go);
// connections bridged to goroutines have their own writer.

// batchFlushSize is how much output a connection queues during a batch
// before it is written anyway.
const batchFlushSize = 64 << 10

// deferWrite queues b, sent while a batch is handled to a connection with
// an empty send buffer, until the batch ends.
func (c *Connection) deferWrite(b []byte) SendResult {
	if !c.adoptQueue(b) {
		c.sendBuf = append(c.queueFor(len(b), len(b)), b...)
	}
	c.sendOff = 0
	c.markPending()
	return SendQueued
}

// markPending lists c among the connections written when the batch ends.
func (c *Connection) markPending() {
	if !c.pending {
		c.pending = true
		ps := theProc()
		ps.pending = append(ps.pending, c)
	}
}

// flushBatchFull writes a pending connection's output before the batch
// ends once it has grown to batchFlushSize (or to the send buffer's limit,
// if that is lower).
func (c *Connection) flushBatchFull() {
	if c.events&eventloop.Writable != 0 || c.status == StatusClosed {
		return
	}
	if n := c.SendBufferLen(); n >= batchFlushSize || n >= c.MaxSendBufferSize {
		c.writeBatched()
	}
}

// endBatch closes the batch and writes the output queued during it. A
// connection waiting for the socket to become writable (or closed
// meanwhile) is left to its own events.
func (ps *procState) endBatch() {
	ps.batching = false
	if len(ps.pending) == 0 {
		return
	}
	// A flush can run OnBufferDrain or OnError, whose sends are not
	// batched (the batch is over) but may close other connections: the
	// list is read by index, and each entry cleared as it is taken.
	for i := 0; i < len(ps.pending); i++ {
		c := ps.pending[i]
		ps.pending[i] = nil
		c.pending = false
		if c.status != StatusClosed && c.events&eventloop.Writable == 0 && c.SendBufferLen() > 0 {
			c.flushBatched()
		}
	}
	ps.pending = ps.pending[:0]
}

// flushBatched is writeBatched for endBatch: a panic in the connection's
// OnError, OnBufferFull or OnClose closes that connection, as it would in
// its own event, and the other connections of the batch are still
// written.
func (c *Connection) flushBatched() {
	defer c.catchPanic()
	c.writeBatched()
}

// writeBatched writes output that a batch queued. Output the kernel takes
// whole is reported as a send written at once would be: with no
// OnBufferDrain, since it never waited for the socket. What the kernel
// leaves waits for the socket, as after a partial write in Send.
func (c *Connection) writeBatched() {
	if b, ok := c.bridged().(*tlsLoop); ok {
		if !b.closed {
			b.flushBatch()
		}
		return
	}
	if !c.writeQueued() {
		return
	}
	if c.SendBufferLen() > 0 {
		c.setWritable(true)
		c.checkBufferWillFull()
		return
	}
	c.releaseQueue()
}
