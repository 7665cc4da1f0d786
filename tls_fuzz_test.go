package workerman

import (
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// FuzzDecryptPKCS8 feeds arbitrary DER to the encrypted-key parser: it
// must return a key or an error, never panic or hang (the iteration count
// is bounded).
func FuzzDecryptPKCS8(f *testing.F) {
	// A real key encrypted by openssl, when it is installed.
	if openssl, err := exec.LookPath("openssl"); err == nil {
		dir := f.TempDir()
		key := filepath.Join(dir, "k.pem")
		if exec.Command(openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
			"-aes-128-cbc", "-pass", "pass:pw", "-out", key).Run() == nil {
			if b, err := os.ReadFile(key); err == nil {
				if blk, _ := pem.Decode(b); blk != nil {
					f.Add(blk.Bytes, []byte("pw"))
				}
			}
		}
	}
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01}, []byte("x"))
	f.Fuzz(func(t *testing.T, der, pass []byte) {
		key, err := decryptPKCS8Limit(der, pass, 2048)
		if err == nil && len(key) == 0 {
			t.Fatal("no error and no key")
		}
	})
}
