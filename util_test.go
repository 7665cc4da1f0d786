package workerman_test

import (
	"errors"
	"io"
	"syscall"
)

var io_ReadFull = io.ReadFull

func isReset(err error) bool {
	return err != nil && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
}
