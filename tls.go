package workerman

import "errors"

// serveTLS starts the server side of a TLS connection.
func (w *Worker) serveTLS(c *Connection) {
	logger().Error("tls transport not available", "worker", w.Name)
	c.destroy()
}

// startClientTLS starts the client side of a TLS connection.
func (c *Connection) startClientTLS() {
	c.connectFailed(errors.New("tls transport not available"))
}
