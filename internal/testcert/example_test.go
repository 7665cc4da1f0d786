package testcert_test

import (
	"crypto/x509"
	"fmt"
	"os"

	"github.com/workerman-go/workerman/internal/testcert"
)

// A CA and a server certificate it signs, verified as a client would.
func Example() {
	dir, _ := os.MkdirTemp("", "testcert-")
	defer os.RemoveAll(dir)
	ca, err := testcert.NewCA(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := ca.Server("server")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = srv.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool, DNSName: "localhost"})
	fmt.Println("localhost verifies:", err == nil)
	_, err = srv.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool, DNSName: "example.com"})
	fmt.Println("example.com verifies:", err == nil)
	// Output:
	// localhost verifies: true
	// example.com verifies: false
}
