package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A client process opens its share of the WebSocket connections on an
// epoll loop of its own, a few bytes of state per connection, from a list
// of loopback source addresses (each gives the kernel its own range of
// ports), and keeps them idle. It prints
//
//	OPEN <connections> <errors> <unix ns of the first connect> <unix ns when the last handshake completed>
//	RECV <connections that received a message> <unix ns of the last first-message>
//
// and exits when its standard input closes.

const handshake = "GET / HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

const (
	stConnecting = iota + 1
	stHandshake
	stOpen
	stReceived
)

func clientMain(args []string) error {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	addr := fs.String("addr", "", "server host:port")
	n := fs.Int("n", 1000, "connections")
	srcs := fs.String("src", "127.0.0.1", "comma-separated source addresses")
	window := fs.Int("window", 256, "connections being opened at once")
	fs.Parse(args)
	ap, err := netip.ParseAddrPort(*addr)
	if err != nil {
		return err
	}
	var sources []netip.Addr
	for _, s := range strings.Split(*srcs, ",") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return err
		}
		sources = append(sources, a)
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	state := make([]uint8, 0, *n+64)
	dst := &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	started, opened, failed, received := 0, 0, 0, 0
	inflight := 0
	first := time.Now().UnixNano()
	var lastOpen, lastRecv int64
	buf := make([]byte, 4096)
	dial := func() error {
		src := sources[started%len(sources)]
		started++
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("socket: %w", err)
		}
		unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: src.As4()}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind %v: %w", src, err)
		}
		if err := unix.Connect(fd, dst); err != nil && err != unix.EINPROGRESS {
			unix.Close(fd)
			return fmt.Errorf("connect: %w", err)
		}
		for fd >= len(state) {
			state = append(state, 0)
		}
		state[fd] = stConnecting
		inflight++
		return unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLOUT, Fd: int32(fd)})
	}
	fail := func(fd int, why error) {
		unix.Close(fd)
		state[fd] = 0
		inflight--
		failed++
		if failed <= 5 {
			fmt.Fprintln(os.Stderr, "client: connection failed:", why)
		}
	}
	stdinClosed := make(chan struct{})
	go func() {
		bufio.NewReader(os.Stdin).ReadString(0)
		close(stdinClosed)
	}()
	events := make([]unix.EpollEvent, 512)
	reportedOpen, reportedRecv := false, false
	for {
		for inflight < *window && started < *n {
			if err := dial(); err != nil {
				return err
			}
		}
		if !reportedOpen && opened+failed == *n {
			reportedOpen = true
			fmt.Printf("OPEN %d %d %d %d\n", opened, failed, first, lastOpen)
		}
		if reportedOpen && !reportedRecv && received == opened && opened > 0 {
			reportedRecv = true
			fmt.Printf("RECV %d %d\n", received, lastRecv)
		}
		select {
		case <-stdinClosed:
			return nil
		default:
		}
		k, err := unix.EpollWait(epfd, events, 100)
		if err != nil && err != unix.EINTR {
			return err
		}
		for _, ev := range events[:max(k, 0)] {
			fd := int(ev.Fd)
			switch state[fd] {
			case stConnecting:
				if e, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); e != 0 {
					fail(fd, unix.Errno(e))
					continue
				}
				if _, err := unix.Write(fd, []byte(handshake)); err != nil {
					fail(fd, err)
					continue
				}
				state[fd] = stHandshake
				unix.EpollCtl(epfd, unix.EPOLL_CTL_MOD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
			case stHandshake:
				m, err := unix.Read(fd, buf)
				if err == unix.EAGAIN {
					continue
				}
				if err != nil || m == 0 {
					fail(fd, errors.Join(err, errors.New("closed during the handshake")))
					continue
				}
				if !bytes.HasPrefix(buf[:m], []byte("HTTP/1.1 101")) || !bytes.HasSuffix(buf[:m], []byte("\r\n\r\n")) {
					fail(fd, fmt.Errorf("handshake answered %q", buf[:min(m, 80)]))
					continue
				}
				state[fd] = stOpen
				inflight--
				opened++
				lastOpen = time.Now().UnixNano()
			case stOpen, stReceived:
				m, err := unix.Read(fd, buf)
				if err == unix.EAGAIN {
					continue
				}
				if err != nil || m == 0 {
					return fmt.Errorf("an open connection ended: %v", err)
				}
				if state[fd] == stOpen {
					state[fd] = stReceived
					received++
					lastRecv = time.Now().UnixNano()
				}
			}
		}
	}
}
