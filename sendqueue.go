package workerman

import "unsafe"

// A connection's send queue holds what the kernel did not take at once.
// Once written out, a queue that grew past smallQueue is dropped, so that a
// connection that sent one large message does not keep its buffer; the
// process keeps the largest such buffer as its spare and queues the next
// large remainder in it. Copying into memory that is already mapped costs
// a fraction of copying into a new allocation, which has to be zeroed and
// faulted in page by page: for messages of megabytes that was most of the
// cost of sending.
//
// A protocol can do better for a large message: build it in the buffer
// EncodeBuffer lends (the spare), so that what the kernel does not take
// becomes the send queue as it is, without a copy.

// smallQueue is the capacity up to which a connection keeps its emptied
// send queue.
const smallQueue = 64 << 10

// spareQueue is the process's spare send queue and lentQueue the buffer
// EncodeBuffer lent to the Encode in progress; both are used on the loop
// goroutine only.
var spareQueue, lentQueue []byte

// EncodeBuffer returns an empty buffer with room for at least n bytes, for
// a Protocol's Encode to build a large message in (rather than growing the
// dst it was given) and return, extended. When the kernel does not take
// all of it at once, the connection keeps the rest queued in that buffer
// without copying it, and once written out the buffer serves later large
// messages, so that steady large traffic neither copies nor allocates.
// Encode must not keep the buffer, and may only call EncodeBuffer once
// per call.
func (c *Connection) EncodeBuffer(n int) []byte {
	reclaimLent()
	if cap(spareQueue) >= n {
		lentQueue, spareQueue = spareQueue[:0], nil
	} else {
		lentQueue = make([]byte, 0, n)
	}
	return lentQueue
}

// reclaimLent ends a lending of EncodeBuffer: the buffer, unless a
// connection adopted it as its queue, becomes the spare again.
func reclaimLent() {
	if lentQueue == nil {
		return
	}
	if cap(lentQueue) > cap(spareQueue) {
		spareQueue = lentQueue[:0]
	}
	lentQueue = nil
}

// adoptQueue makes b the connection's send queue if b lies in the buffer
// that EncodeBuffer lent, so that it is queued without a copy. The queue
// must be empty.
func (c *Connection) adoptQueue(b []byte) bool {
	if cap(lentQueue) == 0 || len(b) == 0 || unsafe.SliceData(b) != unsafe.SliceData(lentQueue) {
		return false
	}
	c.sendBuf, lentQueue = b, nil
	return true
}

// queueFor returns the connection's empty send queue with room for n
// bytes, the rest of a send of size bytes: the spare when that has room.
// A new large queue gets half as much again (at most the whole send), so
// that as the spare it still fits when the kernel takes less of a later
// send of that size. The queue must be empty.
func (c *Connection) queueFor(n, size int) []byte {
	switch {
	case n <= cap(c.sendBuf) || n <= smallQueue:
		return c.sendBuf[:0]
	case cap(spareQueue) >= n:
		b := spareQueue[:0]
		spareQueue, c.sendBuf = nil, nil
		return b
	}
	return make([]byte, 0, max(n, min(size, n+n/2)))
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
