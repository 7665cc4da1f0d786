//go:build !amd64 && !arm64

package eventloop

// curg returns 0: the calling goroutine cannot be identified cheaply here,
// so OffLoop always reports false.
func curg() uintptr { return 0 }
