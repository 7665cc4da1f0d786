package workerman_test

import "io"

var io_ReadFull = io.ReadFull
