package main

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// The client side of the tests, run by the driver against each server.

// runHandshakes completes full handshakes (no session resumption), each
// followed by a one-byte echo so that the server's side is finished too.
func runHandshakes(addr string, cfg *tls.Config, _ []*tls.Conn) (int, error) {
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < *hsConc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := []byte{'x'}
			for next.Add(1) <= int64(*handshakes) {
				err := func() error {
					c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
					if err != nil {
						return err
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(10 * time.Second))
					if _, err := c.Write(b); err != nil {
						return err
					}
					_, err = io.ReadFull(c, b)
					return err
				}()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return *handshakes, firstErr
}

// dialAll opens n TLS connections and completes their handshakes.
func dialAll(addr string, cfg *tls.Config, n int) ([]*tls.Conn, error) {
	cs := make([]*tls.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			for _, c := range cs {
				c.Close()
			}
			return nil, err
		}
		c.SetDeadline(time.Now().Add(60 * time.Second))
		cs = append(cs, c)
		// One echo, so the server has finished its side of the handshake.
		b := []byte{'x'}
		_, err = c.Write(b)
		if err == nil {
			_, err = io.ReadFull(c, b)
		}
		if err != nil {
			for _, c := range cs {
				c.Close()
			}
			return nil, err
		}
	}
	return cs, nil
}

// parallel runs f for every connection and returns the first error.
func parallel(cs []*tls.Conn, f func(c *tls.Conn) error) error {
	errs := make(chan error, len(cs))
	for _, c := range cs {
		go func() { errs <- f(c) }()
	}
	var first error
	for range cs {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// runEcho measures round trips of small messages on connections opened
// before the clock started.
func runEcho(addr string, cfg *tls.Config, cs []*tls.Conn) (int, error) {
	msg := make([]byte, *msgSize)
	err := parallel(cs, func(c *tls.Conn) error {
		buf := make([]byte, len(msg))
		for i := 0; i < *echoes; i++ {
			if _, err := c.Write(msg); err != nil {
				return err
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				return err
			}
		}
		return nil
	})
	return len(cs) * *echoes, err
}

// runBulk streams data through its connections and reads the echo back
// concurrently; the result is in MiB.
func runBulk(addr string, cfg *tls.Config, cs []*tls.Conn) (int, error) {
	per := (*bulkMB << 20) / len(cs)
	err := parallel(cs, func(c *tls.Conn) error {
		done := make(chan error, 1)
		go func() {
			chunk := make([]byte, 32<<10)
			for sent := 0; sent < per; sent += len(chunk) {
				if _, err := c.Write(chunk); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		n, err := io.CopyN(io.Discard, c, int64(per))
		if err == nil && n != int64(per) {
			err = errors.New("short echo")
		}
		if werr := <-done; err == nil {
			err = werr
		}
		return err
	})
	return *bulkMB, err
}
