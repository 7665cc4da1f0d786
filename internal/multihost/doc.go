// Package multihost holds the test of uid and group push across hosts: three
// network namespaces (package netns) each run the same program (pushnode,
// with two worker processes) on one channel backend — the embedded channel
// server, a NATS cluster spanning the hosts, or Redis — and WebSocket clients
// on every host check delivery across hosts, one copy per group member, and
// what a broker's failure or restart costs.
//
// It needs root (network namespaces); run it with
//
//	go test -v ./internal/multihost/
package multihost
