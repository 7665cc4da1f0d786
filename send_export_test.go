package workerman

// SendRoom returns how many more bytes c's socket takes now, the room that
// BufferIsFull leaves out on io_uring while nothing is in flight.
func SendRoom(c *Connection) int { return sendRoom(c.fd) }
