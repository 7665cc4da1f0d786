package http

import (
	"io"
	"log/slog"

	"github.com/workerman-go/workerman"
)

// File bodies larger than smallFile are sent by a pump that reads a piece,
// sends it, and waits for the send buffer to drain before the next piece,
// so a large file costs one piece of memory per connection.

// pumpPiece is the size of one piece read from the file.
const pumpPiece = 64 << 10

// pumpBudget bounds the bytes one pump turn sends before yielding the loop
// to other connections.
const pumpBudget = 1 << 20

var pumpBuf = make([]byte, pumpPiece)

// startPump begins sending st.file after the head that is being encoded.
func (st *connState) startPump() {
	st.userDrain = st.c.OnBufferDrain
	st.c.OnBufferDrain = st.onDrain
	if st.holding {
		st.heldPump = true
		return
	}
	// The head is written when Encode returns; start right after.
	workerman.Post(st.pump)
}

func (st *connState) onDrain(c *workerman.Connection) {
	if st.out == outFile && !st.holding {
		st.pump()
	}
	if st.userDrain != nil {
		st.userDrain(c)
	}
}

func (st *connState) pump() {
	c := st.c
	if st.out != outFile || st.file == nil {
		return
	}
	sent := 0
	for st.fileRemain > 0 {
		if c.Status() != workerman.StatusEstablished {
			return
		}
		if c.SendBufferLen() > 0 {
			// Wait for OnBufferDrain.
			return
		}
		if sent >= pumpBudget {
			workerman.Post(st.pump)
			return
		}
		n := int64(len(pumpBuf))
		if n > st.fileRemain {
			n = st.fileRemain
		}
		m, err := st.file.ReadAt(pumpBuf[:n], st.fileOff)
		if m == 0 && err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			slog.Error("http: reading file body failed", "file", st.file.Name(), "err", err)
			c.Destroy()
			return
		}
		st.fileOff += int64(m)
		st.fileRemain -= int64(m)
		sent += m
		if c.SendRaw(pumpBuf[:m]) == workerman.SendFailed {
			return
		}
	}
	// Done: the response is complete.
	st.closeFile()
	st.out = outNone
	closing := st.outCloses || st.draining
	r := st.cur
	st.finish(nil, 0, r, closing)
	if closing {
		c.Close()
	}
}

func (st *connState) closeFile() {
	if st.file != nil {
		st.file.Close()
		st.file = nil
		st.c.OnBufferDrain = st.userDrain
		st.userDrain = nil
	}
}
