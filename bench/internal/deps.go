//go:build tools

// Package internal pins the peers the benchmarks compare against.
package internal

import (
	_ "github.com/gorilla/websocket"
	_ "github.com/lxzan/gws"
	_ "github.com/panjf2000/gnet/v2"
	_ "github.com/valyala/fasthttp"
)
