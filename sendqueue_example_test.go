package workerman_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// blobs is a protocol of binary messages, each after its 4-byte length.
// Decode hands OnMessage a []byte without allocating (BytesMessage), and
// Encode builds a large message in the connection's lent buffer
// (EncodeBuffer), which the connection queues without copying what the
// kernel does not take at once.
type blobs struct{}

func (blobs) Input(buf []byte, c *workerman.Connection) (int, error) {
	if len(buf) < 4 {
		return 0, nil
	}
	return 4 + int(binary.BigEndian.Uint32(buf)), nil
}

func (blobs) Decode(pkg []byte, c *workerman.Connection) (any, error) {
	return c.BytesMessage(pkg[4:]), nil // valid until OnMessage returns
}

func (blobs) Encode(dst []byte, data any, c *workerman.Connection) ([]byte, error) {
	b, ok := data.([]byte)
	if !ok {
		return dst, fmt.Errorf("blobs: cannot send %T", data)
	}
	if n := len(dst) + 4 + len(b); n > 64<<10 {
		dst = append(c.EncodeBuffer(n), dst...)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...), nil
}

func ExampleConnection_EncodeBuffer() {
	w := workerman.NewWorker("tcp://127.0.0.1:0")
	w.Protocol = blobs{}
	w.OnConnect = func(c *workerman.Connection) { c.MaxPackageSize = 8 << 20 }
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(data) } // echo
	var addr string
	wmtest.Do(func() { w.Listen(); addr = w.Addr().String() })
	defer wmtest.Do(w.Stop)

	nc, err := net.Dial("tcp", addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	msg := bytes.Repeat([]byte("blob"), 1<<20) // 4 MiB
	go nc.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(msg))), msg...))
	echo := make([]byte, 4+len(msg))
	if _, err := io.ReadFull(nc, echo); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(binary.BigEndian.Uint32(echo), bytes.Equal(echo[4:], msg))
	// Output: 4194304 true
}
