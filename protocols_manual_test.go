package workerman_test

// The custom protocols of the manual's 通讯协议 chapter (JsonNL, the
// 10-byte-header XML protocol, JsonInt, BinaryTransfer and TextTransfer),
// written as Go protocols and driven over real sockets.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/wmtest"
)

// jsonNL is "JSON + newline".
type jsonNL struct{}

func (jsonNL) Input(buf []byte, c *workerman.Connection) (int, error) {
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		return i + 1, nil
	}
	return 0, nil
}

func (jsonNL) Decode(pkg []byte, c *workerman.Connection) (any, error) {
	var v map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(pkg), &v); err != nil {
		return nil, err
	}
	return v, nil
}

func (jsonNL) Encode(dst []byte, data any, c *workerman.Connection) ([]byte, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return dst, err
	}
	return append(append(dst, b...), '\n'), nil
}

// xmlProtocol has a 10-digit decimal total length, zero padded.
type xmlProtocol struct{}

type xmlRequest struct {
	Module string `xml:"module"`
	Action string `xml:"action"`
}

func (xmlProtocol) Input(buf []byte, c *workerman.Connection) (int, error) {
	if len(buf) < 10 {
		return 0, nil
	}
	n, err := strconv.Atoi(string(buf[:10]))
	if err != nil || n < 10 {
		return 0, fmt.Errorf("bad length header %q", buf[:10])
	}
	return n, nil
}

func (xmlProtocol) Decode(pkg []byte, c *workerman.Connection) (any, error) {
	var r xmlRequest
	d := xml.NewDecoder(bytes.NewReader(pkg[10:]))
	// The sample declares ISO-8859-1; its bytes are ASCII.
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) { return in, nil }
	if err := d.Decode(&r); err != nil {
		return nil, err
	}
	return r, nil
}

func (xmlProtocol) Encode(dst []byte, data any, c *workerman.Connection) ([]byte, error) {
	s := data.(string)
	return append(append(dst, fmt.Sprintf("%010d", len(s)+10)...), s...), nil
}

// jsonInt has a 4-byte big-endian total length and a JSON body.
type jsonInt struct{}

func (jsonInt) Input(buf []byte, c *workerman.Connection) (int, error) {
	return workerman.Frame.Input(buf, c)
}

func (jsonInt) Decode(pkg []byte, c *workerman.Connection) (any, error) {
	var v map[string]any
	return v, json.Unmarshal(pkg[4:], &v)
}

func (jsonInt) Encode(dst []byte, data any, c *workerman.Connection) ([]byte, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return dst, err
	}
	return workerman.Frame.Encode(dst, b, c)
}

// upload is what both file-transfer protocols decode to.
type upload struct {
	FileName string `json:"file_name"`
	FileData []byte `json:"file_data"`
}

// binaryTransfer: total_len uint32 BE, name_len uint8, name, file bytes.
type binaryTransfer struct{}

const packageHeadLen = 5

func (binaryTransfer) Input(buf []byte, c *workerman.Connection) (int, error) {
	if len(buf) < packageHeadLen {
		return 0, nil
	}
	n := int(binary.BigEndian.Uint32(buf))
	if n < packageHeadLen+int(buf[4]) {
		return 0, errors.New("total length shorter than header and name")
	}
	return n, nil
}

func (binaryTransfer) Decode(pkg []byte, c *workerman.Connection) (any, error) {
	nameLen := int(pkg[4])
	return upload{
		FileName: string(pkg[packageHeadLen : packageHeadLen+nameLen]),
		FileData: bytes.Clone(pkg[packageHeadLen+nameLen:]),
	}, nil
}

func (binaryTransfer) Encode(dst []byte, data any, c *workerman.Connection) ([]byte, error) {
	return append(dst, data.(string)...), nil
}

// textTransfer: one JSON line with the file base64-encoded.
type textTransfer struct{}

func (textTransfer) Input(buf []byte, c *workerman.Connection) (int, error) {
	return workerman.Text.Input(buf, c)
}

func (textTransfer) Decode(pkg []byte, c *workerman.Connection) (any, error) {
	var u struct {
		FileName string `json:"file_name"`
		FileData string `json:"file_data"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(pkg), &u); err != nil {
		return nil, err
	}
	data, err := base64.StdEncoding.DecodeString(u.FileData)
	if err != nil {
		return nil, err
	}
	return upload{FileName: u.FileName, FileData: data}, nil
}

func (textTransfer) Encode(dst []byte, data any, c *workerman.Connection) ([]byte, error) {
	return append(dst, data.(string)...), nil
}

func init() {
	for name, p := range map[string]workerman.Protocol{
		"JsonNL": jsonNL{}, "XmlProtocol": xmlProtocol{}, "JsonInt": jsonInt{},
		"BinaryTransfer": binaryTransfer{}, "TextTransfer": textTransfer{},
	} {
		if err := workerman.RegisterProtocol(name, p); err != nil {
			panic(err)
		}
	}
}

func TestManualJsonNL(t *testing.T) {
	w := workerman.NewWorker("JsonNL://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) {
		m := data.(map[string]any)
		c.Send(map[string]any{"code": 0, "msg": "ok", "echo": m["content"]})
	}
	c := dial(t, "tcp", wmtest.Serve(t, w))
	c.Write([]byte(`{"type":"message","content":"hello"}` + "\n" + `{"type":"message","con`))
	c.Write([]byte(`tent":"again"}` + "\n"))
	r := bufio.NewReader(c)
	for _, want := range []string{"hello", "again"} {
		line, err := r.ReadBytes('\n')
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(line, &v); err != nil || v["msg"] != "ok" || v["echo"] != want {
			t.Fatalf("reply %q (%v)", line, err)
		}
	}
	// Bad JSON closes the connection.
	c.Write([]byte("{not json\n"))
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("connection not closed after a bad package: %v", err)
	}
}

func TestManualXmlProtocol(t *testing.T) {
	w := workerman.NewWorker("XmlProtocol://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) {
		r := data.(xmlRequest)
		c.Send("<response>" + r.Module + "." + r.Action + "</response>")
	}
	c := dial(t, "tcp", wmtest.Serve(t, w))
	body := `<?xml version="1.0" encoding="ISO-8859-1"?>` + "\n<request>\n  <module>user</module>\n  <action>getInfo</action>\n</request>"
	pkg := fmt.Sprintf("%010d%s", len(body)+10, body)
	for i := 0; i < len(pkg); i += 7 { // dribble it in
		c.Write([]byte(pkg[i:min(i+7, len(pkg))]))
	}
	want := "<response>user.getInfo</response>"
	buf := make([]byte, 10+len(want))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != fmt.Sprintf("%010d%s", len(want)+10, want) {
		t.Fatalf("reply %q", buf)
	}
}

func TestManualJsonInt(t *testing.T) {
	w := workerman.NewWorker("JsonInt://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) {
		c.Send(map[string]any{"type": "reply", "content": data.(map[string]any)["content"]})
	}
	c := dial(t, "tcp", wmtest.Serve(t, w))
	body := []byte(`{"type":"message","content":"hello all"}`)
	pkg := binary.BigEndian.AppendUint32(nil, uint32(4+len(body)))
	c.Write(append(pkg, body...))
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, binary.BigEndian.Uint32(hdr[:])-4)
	io.ReadFull(c, reply)
	if string(reply) != `{"content":"hello all","type":"reply"}` {
		t.Fatalf("reply %q", reply)
	}
}

// uploadWorker saves uploads under dir, as the manual's examples do under
// /tmp (with the name reduced to its base so a client cannot escape dir).
func uploadWorker(scheme, dir string) *workerman.Worker {
	w := workerman.NewWorker(scheme + "://127.0.0.1:0")
	w.OnMessage = func(c *workerman.Connection, data any) {
		u := data.(upload)
		savePath := filepath.Join(dir, filepath.Base(u.FileName))
		if err := os.WriteFile(savePath, u.FileData, 0o600); err != nil {
			c.Send("upload failed: " + err.Error())
			return
		}
		c.Send("upload success. save path " + savePath)
	}
	return w
}

func TestManualBinaryTransfer(t *testing.T) {
	dir := t.TempDir()
	c := dial(t, "tcp", wmtest.Serve(t, uploadWorker("BinaryTransfer", dir)))
	file := bytes.Repeat([]byte{0, 1, 2, 0xff, '\n'}, 300000) // 1.5 MB, binary
	name := "logo.png"
	pkg := binary.BigEndian.AppendUint32(nil, uint32(packageHeadLen+len(name)+len(file)))
	pkg = append(pkg, byte(len(name)))
	pkg = append(append(pkg, name...), file...)
	go c.Write(pkg)
	want := "upload success. save path " + filepath.Join(dir, name)
	reply := make([]byte, len(want))
	if _, err := io.ReadFull(c, reply); err != nil || string(reply) != want {
		t.Fatalf("reply %q %v", reply, err)
	}
	saved, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil || !bytes.Equal(saved, file) {
		t.Fatalf("saved file differs (%d bytes, %v)", len(saved), err)
	}
}

func TestManualTextTransfer(t *testing.T) {
	dir := t.TempDir()
	c := dial(t, "tcp", wmtest.Serve(t, uploadWorker("TextTransfer", dir)))
	file := bytes.Repeat([]byte("binary\x00data"), 10000)
	line, _ := json.Marshal(map[string]string{
		"file_name": "../../etc/evil.txt",
		"file_data": base64.StdEncoding.EncodeToString(file),
	})
	c.Write(append(line, '\n'))
	want := "upload success. save path " + filepath.Join(dir, "evil.txt")
	reply := make([]byte, len(want))
	if _, err := io.ReadFull(c, reply); err != nil || string(reply) != want {
		t.Fatalf("reply %q %v", reply, err)
	}
	saved, err := os.ReadFile(filepath.Join(dir, "evil.txt"))
	if err != nil || !bytes.Equal(saved, file) {
		t.Fatalf("saved file differs: %v", err)
	}
}

// TestMaxPackageSize: a package announcing more than MaxPackageSize closes
// the connection without buffering it.
func TestMaxPackageSize(t *testing.T) {
	closed := make(chan struct{})
	w := workerman.NewWorker("frame://127.0.0.1:0")
	w.OnConnect = func(c *workerman.Connection) { c.MaxPackageSize = 1024 }
	w.OnMessage = func(c *workerman.Connection, data any) { c.Send(data) }
	w.OnClose = func(c *workerman.Connection) { close(closed) }
	c := dial(t, "tcp", wmtest.Serve(t, w))
	// A package within the limit is echoed.
	small := binary.BigEndian.AppendUint32(nil, 4+5)
	c.Write(append(small, "hello"...))
	reply := make([]byte, 9)
	if _, err := io.ReadFull(c, reply); err != nil || string(reply[4:]) != "hello" {
		t.Fatalf("reply %q %v", reply, err)
	}
	// One announcing 1 GiB is refused at once.
	c.Write(binary.BigEndian.AppendUint32(nil, 1<<30))
	if _, err := c.Read(reply); err != io.EOF {
		t.Fatalf("want EOF after an oversized package, got %v", err)
	}
	<-closed
}

// TestTextLineTooLong: a line that never ends is bounded by MaxPackageSize.
func TestTextLineTooLong(t *testing.T) {
	w := workerman.NewWorker("text://127.0.0.1:0")
	w.OnConnect = func(c *workerman.Connection) { c.MaxPackageSize = 64 << 10 }
	c := dial(t, "tcp", wmtest.Serve(t, w))
	go func() {
		chunk := bytes.Repeat([]byte("a"), 16<<10)
		for i := 0; i < 16; i++ {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) {
		t.Fatalf("want the server to close, got %v", err)
	}
}

func TestFrameProtocolRejectsShortLength(t *testing.T) {
	w := workerman.NewWorker("frame://127.0.0.1:0")
	c := dial(t, "tcp", wmtest.Serve(t, w))
	c.Write([]byte{0, 0, 0, 2, 'x'})
	if _, err := c.Read(make([]byte, 1)); err != io.EOF && !isReset(err) {
		t.Fatalf("want close, got %v", err)
	}
}

func TestRegisterProtocolErrors(t *testing.T) {
	if err := workerman.RegisterProtocol("tcp", jsonNL{}); err == nil {
		t.Fatal("registering the reserved name tcp succeeded")
	}
	if err := workerman.RegisterProtocol("x", nil); err == nil {
		t.Fatal("registering nil succeeded")
	}
	w := workerman.NewWorker("nosuchproto://127.0.0.1:0")
	var err error
	wmtest.Do(func() { err = w.Listen() })
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("unknown protocol")) {
		t.Fatalf("Listen with an unknown scheme: %v", err)
	}
	if p, ok := workerman.LookupProtocol("jsonnl"); !ok || p == nil {
		t.Fatal("protocol names are not case-insensitive")
	}
}
