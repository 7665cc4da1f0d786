// Package http is Workerman's HTTP/1.1 server protocol: Request, Response,
// sessions, chunked responses, server-sent events, a static WebServer and
// an adapter that runs net/http handlers. Importing the package registers
// the protocol under the scheme "http":
//
//	import (
//		"github.com/workerman-go/workerman"
//		"github.com/workerman-go/workerman/protocols/http"
//	)
//
//	w := workerman.NewWorker("http://0.0.0.0:2345")
//	w.Count = 4
//	w.OnMessage = func(c *workerman.Connection, data any) {
//		req := data.(*http.Request)
//		c.Send("hello " + req.Get("name"))
//	}
//	workerman.RunAll()
//
// # Messages
//
// OnMessage receives a *Request; OnRequest adapts a handler that takes it
// typed. Send answers it with a string or []byte (200, text/html), a
// *Response (JSON builds one from any value), and for streaming responses
// Chunk and ServerSentEvent values; anything else fails the send and
// reaches OnError with workerman.SendFail. Requests on one connection are answered in
// order: while a request waits for its response (answered later from a
// timer, workerman.Async or the net/http adapter), the requests pipelined
// behind it wait too. One request gets one response; a second Send fails
// with ErrNoRequest. "OPTIONS *" (a question about the server, not a
// resource) reaches OnMessage like any request, with URI and Path "*";
// WebServer and the net/http adapter answer it themselves.
//
// # Where PHP's functions went
//
// The manual's HTTP functions map to methods: $_GET is Request.Query and
// Get, $_POST is PostForm and Post, $_FILES is Files and File,
// $_COOKIE is Cookie, $_SERVER is Header, Method, URI and friends,
// $GLOBALS['HTTP_RAW_POST_DATA'] (php://input) is RawBody, header() and
// setcookie() are Response.WithHeader and WithCookie, session_start() is
// Request.Session, and Http::end($msg) / exit / die become
// c.Send(msg) followed by return. There is no superglobal state: every
// value belongs to its Request.
//
// # Connections
//
// HTTP/1.1 connections are kept alive unless the client or the response
// says "Connection: close". HTTP/1.0 connections close after the response
// unless the client sent "Connection: keep-alive" (unlike PHP Workerman,
// which keeps them open). Encode reports workerman.ErrCloseAfterSend for a
// response after which the connection must close, and the core closes it
// once the bytes are out.
//
// HTTPS is the same protocol on the ssl transport: set the worker's
// Transport to "ssl" and its TLSConfig; nothing here changes.
//
// # Limits
//
// Every length is bounded before it is trusted: the request line
// (MaxRequestLine, 414 whatever its length), the header fields
// (MaxHeaderBytes and MaxHeaderCount, 431), the body (MaxBodySize, 413).
// Malformed requests get 400, among them a Host field or the authority of
// an absolute-form target that is not uri-host [":" port] (RFC 9112
// section 3.2). Unsupported transfer codings get 501 and major versions
// other than 1 get 505; a higher minor version (HTTP/1.2) is served as
// HTTP/1.1. In absolute-form ("GET http://a.example/x") the target's
// authority is the request's host (Request.Host) and replaces the Host
// field. Request-smuggling
// shapes (Transfer-Encoding with Content-Length, obs-fold, bare CR or LF,
// conflicting lengths) are refused; the connection is answered and closed
// and no other connection is affected. A body whose Content-Length is
// above BodyMemoryLimit is written to an unlinked temporary file from its
// first byte, straight from the connection's read buffer, so a streamed
// upload holds a few KiB of memory whatever its size. Smaller bodies are
// kept in memory within a total per process (BodyMemoryTotal, across all
// connections); past it they go to files too, and after a burst of them
// the memory is given back to the system. Slow clients are bounded by timeouts,
// checked by one timer per process once a second: ReadHeaderTimeout from
// the first byte of a request to the end of its head, ReadTimeout for a
// body that makes no progress, MinBodyRate for a body that trickles once
// it has taken longer than ReadTimeout (all 408), WriteTimeout for a
// client that does not read its response (dropped), IdleTimeout between
// requests (closed).
//
// # Sessions
//
// Request.Session returns the client's session, identified by a cookie.
// The default store keeps files in a directory (one host); a Redis store
// (package redisstore) serves several hosts. A store that may block (Redis)
// is never called on the event loop: see BlockingStore for how a session
// is loaded before OnMessage and saved before the response leaves.
package http
