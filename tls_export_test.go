package workerman

// SetTLSBridged makes new TLS connections use the goroutine bridge (the
// path of systems without the native poller) instead of the event loop,
// and returns a function that restores the default. Call it before the
// connections are made.
func SetTLSBridged(on bool) (restore func()) {
	old := tlsBridged
	tlsBridged = on
	return func() { tlsBridged = old }
}
