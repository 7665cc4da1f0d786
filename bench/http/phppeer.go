package main

import (
	"log"
	"os"
	"path/filepath"
)

// phpStartFile returns the absolute path of the PHP peer's start file and
// checks that the PHP Workerman source is named.
func phpStartFile() string {
	if src := os.Getenv("WORKERMAN_PHP_SRC"); src == "" {
		log.Fatal(`the server "php" needs WORKERMAN_PHP_SRC: a checkout of github.com/walkor/workerman (see http/README.md)`)
	}
	p, err := filepath.Abs(*phpStart)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		log.Fatalf("PHP start file: %v (run from the bench directory or pass -php-start)", err)
	}
	return p
}
