// Command flashpolicy is the manual's "为Flash开843端口": a Flash client
// that opens a socket first asks port 843 of the server for a policy
// file, and connects only if the policy allows it. The worker answers
// every request with a policy that allows every domain and port, ended
// by a NUL byte, and then closes the connection, as Flash expects.
//
//	go run ./examples/flashpolicy start      # port 843 needs root
//	printf '<policy-file-request/>\0' | nc 127.0.0.1 843
//
// FLASH_LISTEN overrides the address.
package main

import (
	"bytes"
	"log"
	"os"

	"github.com/workerman-go/workerman"
)

// Policy is the policy file sent to every client, without its closing NUL.
const Policy = `<?xml version="1.0"?><cross-domain-policy><site-control permitted-cross-domain-policies="all"/><allow-access-from domain="*" to-ports="*" /></cross-domain-policy>`

// request is what Flash sends.
const request = "<policy-file-request/>\x00"

// newPolicyServer returns the worker that serves the policy file on listen.
func newPolicyServer(listen string) *workerman.Worker {
	w := workerman.NewWorker(listen)
	w.Name = "flash-policy"
	w.OnMessage = func(c *workerman.Connection, data any) {
		// The request is "<policy-file-request/>\0". Whatever the client
		// sends gets the policy, as in the manual, once its NUL (or as many
		// bytes as the request has) arrived: a reply to half a request
		// would close the connection under the other half.
		got, _ := c.UserData.(int)
		got += len(data.([]byte))
		c.UserData = got
		if bytes.IndexByte(data.([]byte), 0) >= 0 || got >= len(request) {
			c.Close(Policy + "\x00")
		}
	}
	return w
}

func main() {
	listen := "tcp://0.0.0.0:843"
	if v := os.Getenv("FLASH_LISTEN"); v != "" {
		listen = v
	}
	newPolicyServer(listen)
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
