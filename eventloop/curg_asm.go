//go:build amd64 || arm64

package eventloop

// curg returns an identity of the calling goroutine, never 0.
//
//go:noescape
func curg() uintptr
