//go:build unix

package unix

import (
	"syscall"

	"golang.org/x/sys/unix"
)

type (
	Errno                = unix.Errno
	Signal               = syscall.Signal
	Sockaddr             = unix.Sockaddr
	SockaddrInet4        = unix.SockaddrInet4
	SockaddrInet6        = unix.SockaddrInet6
	SockaddrUnix         = unix.SockaddrUnix
	SocketControlMessage = unix.SocketControlMessage
)

const (
	EACCES        = unix.EACCES
	EADDRINUSE    = unix.EADDRINUSE
	EADDRNOTAVAIL = unix.EADDRNOTAVAIL
	EAGAIN        = unix.EAGAIN
	ECONNABORTED  = unix.ECONNABORTED
	ECONNREFUSED  = unix.ECONNREFUSED
	EINPROGRESS   = unix.EINPROGRESS
	EINTR         = unix.EINTR
	EINVAL        = unix.EINVAL
	EMFILE        = unix.EMFILE
	ENFILE        = unix.ENFILE
	ENOBUFS       = unix.ENOBUFS
	ENOENT        = unix.ENOENT
	ENOMEM        = unix.ENOMEM
	ENOSPC        = unix.ENOSPC
	EPERM         = unix.EPERM
	EPROTO        = unix.EPROTO
	ERANGE        = unix.ERANGE
	EWOULDBLOCK   = unix.EWOULDBLOCK

	AF_INET        = unix.AF_INET
	AF_INET6       = unix.AF_INET6
	AF_UNIX        = unix.AF_UNIX
	SOCK_DGRAM     = unix.SOCK_DGRAM
	SOCK_SEQPACKET = unix.SOCK_SEQPACKET
	SOCK_STREAM    = unix.SOCK_STREAM
	SOL_SOCKET     = unix.SOL_SOCKET
	SO_BROADCAST   = unix.SO_BROADCAST
	SO_ERROR       = unix.SO_ERROR
	SO_REUSEADDR   = unix.SO_REUSEADDR
	SO_REUSEPORT   = unix.SO_REUSEPORT
	SO_TYPE        = unix.SO_TYPE
	IPPROTO_IPV6   = unix.IPPROTO_IPV6
	IPPROTO_TCP    = unix.IPPROTO_TCP
	IPV6_V6ONLY    = unix.IPV6_V6ONLY
	TCP_NODELAY    = unix.TCP_NODELAY
	SHUT_WR        = unix.SHUT_WR
	F_GETFD        = unix.F_GETFD
	LOCK_EX        = unix.LOCK_EX
	LOCK_NB        = unix.LOCK_NB
	LOCK_SH        = unix.LOCK_SH
	LOCK_UN        = unix.LOCK_UN
	SIGKILL        = unix.SIGKILL
)

func Read(fd int, p []byte) (int, error)  { return unix.Read(fd, p) }
func Write(fd int, p []byte) (int, error) { return unix.Write(fd, p) }
func Close(fd int) error                  { return unix.Close(fd) }
func CloseOnExec(fd int)                  { unix.CloseOnExec(fd) }
func SetNonblock(fd int, nonblocking bool) error {
	return unix.SetNonblock(fd, nonblocking)
}
func FcntlInt(fd uintptr, cmd, arg int) (int, error) { return unix.FcntlInt(fd, cmd, arg) }
func Flock(fd int, how int) error                    { return unix.Flock(fd, how) }
func Kill(pid int, sig Signal) error                 { return unix.Kill(pid, sig) }

func Socket(domain, typ, proto int) (int, error) { return unix.Socket(domain, typ, proto) }
func Socketpair(domain, typ, proto int) ([2]int, error) {
	return unix.Socketpair(domain, typ, proto)
}
func Bind(fd int, sa Sockaddr) error                { return unix.Bind(fd, sa) }
func Listen(fd int, backlog int) error              { return unix.Listen(fd, backlog) }
func Connect(fd int, sa Sockaddr) error             { return unix.Connect(fd, sa) }
func Shutdown(fd int, how int) error                { return unix.Shutdown(fd, how) }
func Getsockname(fd int) (Sockaddr, error)          { return unix.Getsockname(fd) }
func Getpeername(fd int) (Sockaddr, error)          { return unix.Getpeername(fd) }
func GetsockoptInt(fd, level, opt int) (int, error) { return unix.GetsockoptInt(fd, level, opt) }
func SetsockoptInt(fd, level, opt, value int) error {
	return unix.SetsockoptInt(fd, level, opt, value)
}
func Recvfrom(fd int, p []byte, flags int) (int, Sockaddr, error) {
	return unix.Recvfrom(fd, p, flags)
}
func Sendto(fd int, p []byte, flags int, to Sockaddr) error { return unix.Sendto(fd, p, flags, to) }

func CmsgSpace(datalen int) int    { return unix.CmsgSpace(datalen) }
func UnixRights(fds ...int) []byte { return unix.UnixRights(fds...) }
func ParseUnixRights(m *SocketControlMessage) ([]int, error) {
	return unix.ParseUnixRights(m)
}
func ParseSocketControlMessage(b []byte) ([]SocketControlMessage, error) {
	return unix.ParseSocketControlMessage(b)
}

// Stat_t is what os.FileInfo.Sys returns on Unix systems (the standard
// library's syscall.Stat_t, not golang.org/x/sys/unix's).
type Stat_t = syscall.Stat_t

type PollFd = unix.PollFd

const POLLOUT = unix.POLLOUT

func Poll(fds []PollFd, timeout int) (int, error) { return unix.Poll(fds, timeout) }
