//go:build !unix

package unix

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
)

// errUnsupported is what every function returns here.
var errUnsupported = fmt.Errorf("%w on %s: descriptors are served only on Unix systems", errors.ErrUnsupported, runtime.GOOS)

type (
	Errno  = syscall.Errno
	Signal = syscall.Signal

	// Sockaddr is a socket address.
	Sockaddr interface{ sockaddr() }
	// SockaddrInet4 is an IPv4 socket address.
	SockaddrInet4 struct {
		Port int
		Addr [4]byte
	}
	// SockaddrInet6 is an IPv6 socket address.
	SockaddrInet6 struct {
		Port   int
		ZoneId uint32
		Addr   [16]byte
	}
	// SockaddrUnix is a Unix-domain socket address.
	SockaddrUnix struct{ Name string }
	// SocketControlMessage is an ancillary message of a Unix socket.
	SocketControlMessage struct{ Data []byte }
)

func (*SockaddrInet4) sockaddr() {}
func (*SockaddrInet6) sockaddr() {}
func (*SockaddrUnix) sockaddr()  {}

const (
	EACCES        = syscall.EACCES
	EADDRINUSE    = syscall.EADDRINUSE
	EADDRNOTAVAIL = syscall.EADDRNOTAVAIL
	EAGAIN        = syscall.EAGAIN
	ECONNABORTED  = syscall.ECONNABORTED
	ECONNREFUSED  = syscall.ECONNREFUSED
	EINPROGRESS   = syscall.EINPROGRESS
	EINTR         = syscall.EINTR
	EINVAL        = syscall.EINVAL
	EMFILE        = syscall.EMFILE
	ENFILE        = syscall.ENFILE
	ENOBUFS       = syscall.ENOBUFS
	ENOENT        = syscall.ENOENT
	ENOMEM        = syscall.ENOMEM
	ENOSPC        = syscall.ENOSPC
	EPERM         = syscall.EPERM
	EPROTO        = syscall.EPROTO
	ERANGE        = syscall.ERANGE
	EWOULDBLOCK   = syscall.EWOULDBLOCK
	SIGKILL       = syscall.SIGKILL
)

// The values of these constants only matter to the calls above, which all
// fail here.
const (
	AF_INET = iota + 1
	AF_INET6
	AF_UNIX
	SOCK_DGRAM
	SOCK_SEQPACKET
	SOCK_STREAM
	SOL_SOCKET
	SO_BROADCAST
	SO_ERROR
	SO_REUSEADDR
	SO_REUSEPORT
	SO_TYPE
	IPPROTO_IPV6
	IPPROTO_TCP
	IPV6_V6ONLY
	TCP_NODELAY
	SHUT_WR
	F_GETFD
	LOCK_EX
	LOCK_NB
	LOCK_SH
	LOCK_UN
)

func Read(int, []byte) (int, error)            { return 0, errUnsupported }
func Write(int, []byte) (int, error)           { return 0, errUnsupported }
func Close(int) error                          { return errUnsupported }
func CloseOnExec(int)                          {}
func SetNonblock(int, bool) error              { return errUnsupported }
func FcntlInt(uintptr, int, int) (int, error)  { return 0, errUnsupported }
func Flock(int, int) error                     { return errUnsupported }
func Kill(int, Signal) error                   { return errUnsupported }
func Socket(int, int, int) (int, error)        { return -1, errUnsupported }
func Socketpair(int, int, int) ([2]int, error) { return [2]int{-1, -1}, errUnsupported }
func Bind(int, Sockaddr) error                 { return errUnsupported }
func Listen(int, int) error                    { return errUnsupported }
func Connect(int, Sockaddr) error              { return errUnsupported }
func Shutdown(int, int) error                  { return errUnsupported }
func Getsockname(int) (Sockaddr, error)        { return nil, errUnsupported }
func Getpeername(int) (Sockaddr, error)        { return nil, errUnsupported }
func GetsockoptInt(int, int, int) (int, error) { return 0, errUnsupported }
func SetsockoptInt(int, int, int, int) error   { return errUnsupported }
func Recvfrom(int, []byte, int) (int, Sockaddr, error) {
	return 0, nil, errUnsupported
}
func Sendto(int, []byte, int, Sockaddr) error { return errUnsupported }

func CmsgSpace(datalen int) int                            { return datalen }
func UnixRights(...int) []byte                             { return nil }
func ParseUnixRights(*SocketControlMessage) ([]int, error) { return nil, errUnsupported }
func ParseSocketControlMessage([]byte) ([]SocketControlMessage, error) {
	return nil, errUnsupported
}

// Stat_t stands for the Unix file status, which os.FileInfo.Sys never
// returns here.
type Stat_t struct{ Ino uint64 }

// PollFd is a descriptor and the events poll waits for.
type PollFd struct {
	Fd      int32
	Events  int16
	Revents int16
}

const POLLOUT = 0x4

func Poll([]PollFd, int) (int, error) { return 0, errUnsupported }
