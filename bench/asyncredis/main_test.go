package main

import (
	"os"
	"os/exec"
	"testing"
)

// TestMain lets the test binary be the server process too, as the program
// is: run starts os.Args[0] with "server".
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "server" {
		serve(os.Args[2], os.Args[3])
	}
	os.Exit(m.Run())
}

// One small round of each server against a real redis-server: every answer
// is checked inside load, and the report has a figure for each.
func TestRunSmall(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("WORKERMAN_REQUIRE_TOOLS") != "" || os.Getenv("CI") != "" {
			t.Fatal("redis-server is required (the project's test command installs it)")
		}
		t.Skip("redis-server not installed")
	}
	res, err := run(1, 4, 50, 32, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	for _, impl := range impls {
		if len(res[impl]) != 1 || res[impl][0].Rate <= 0 {
			t.Fatalf("%s: %+v", impl, res[impl])
		}
	}
}
