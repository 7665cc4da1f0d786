package workerman

// A connection's send queue holds what the kernel did not take at once.
// Once written out, a queue that grew past smallQueue is dropped, so that a
// connection that sent one large message does not keep its buffer; the
// process keeps the largest such buffer as its spare and queues the next
// large remainder in it. Copying into memory that is already mapped costs
// a fraction of copying into a new allocation, which has to be zeroed and
// faulted in page by page: for messages of megabytes that was most of the
// cost of sending.

// smallQueue is the capacity up to which a connection keeps its emptied
// send queue.
const smallQueue = 64 << 10

// spareQueue is the process's spare send queue, used on the loop
// goroutine only.
var spareQueue []byte

// queueFor returns the connection's empty send queue, with room for n
// bytes when it or the spare has it. The queue must be empty.
func (c *Connection) queueFor(n int) []byte {
	if n > cap(c.sendBuf) && n > smallQueue && cap(spareQueue) >= n {
		b := spareQueue[:0]
		spareQueue = nil
		c.sendBuf = nil
		return b
	}
	return c.sendBuf[:0]
}

// releaseQueue empties the written-out send queue, passing a large one to
// the spare (unless the spare is larger).
func (c *Connection) releaseQueue() {
	if cap(c.sendBuf) > smallQueue {
		if cap(c.sendBuf) > cap(spareQueue) {
			spareQueue = c.sendBuf[:0]
		}
		c.sendBuf = nil
	} else {
		c.sendBuf = c.sendBuf[:0]
	}
	c.sendOff = 0
}
