package http

import (
	"time"

	"github.com/workerman-go/workerman"
)

// sweepInterval is the resolution of the HTTP timeouts: one timer per
// process checks every HTTP connection at this interval, so the hot path
// only stores a tick number.
const sweepInterval = time.Second

// sweeper tracks the HTTP connections of the process for timeouts. It is
// touched on the event loop only.
var sweeper = &sweepState{conns: make(map[*connState]struct{})}

type sweepState struct {
	conns map[*connState]struct{}
	tick  int64
	timer int
}

func (s *sweepState) add(st *connState) {
	if st.swept {
		return
	}
	st.swept = true
	s.conns[st] = struct{}{}
	if s.timer == 0 {
		s.timer = workerman.Timer.Add(sweepInterval, s.sweep)
	}
}

func (s *sweepState) remove(st *connState) {
	if !st.swept {
		return
	}
	st.swept = false
	delete(s.conns, st)
	if len(s.conns) == 0 && s.timer != 0 {
		workerman.Timer.Del(s.timer)
		s.timer = 0
	}
}

func ticks(d time.Duration) int64 {
	n := int64((d + sweepInterval - 1) / sweepInterval)
	if n < 1 {
		n = 1
	}
	return n
}

func (s *sweepState) sweep() {
	s.tick++
	now := s.tick
	for st := range s.conns {
		c := st.c
		if c.Status() == workerman.StatusClosed || c.ProtocolData != st || c.Protocol != workerman.Protocol(st.p) {
			// Closed, or switched to another protocol (an upgrade).
			s.remove(st)
			st.releaseBodyMemory()
			continue
		}
		p := st.p
		// A client that does not read what it asked for.
		if c.SendBufferLen() > 0 {
			if w := c.BytesWritten(); w != st.lastWritten {
				st.lastWritten, st.writeStall = w, now
			} else if now-st.writeStall > ticks(orDur(p.WriteTimeout, DefaultWriteTimeout)) {
				c.Destroy()
				continue
			}
		} else {
			st.writeStall = now
		}
		if st.phase == phaseDiscard || st.cur != nil || st.holding || st.out != outNone {
			// The application is answering; it owns the pace.
			continue
		}
		switch {
		case st.phase == phaseBody || st.bodyWait:
			got := st.bodyBytes
			if st.bodyWait {
				if n := c.RecvBufferLen(); n != st.bodyGot {
					st.bodyGot, st.lastRead = n, now
				}
				got = int64(max(c.RecvBufferLen()-st.h.end, 0))
			}
			readTO := ticks(orDur(p.ReadTimeout, DefaultReadTimeout))
			elapsed := now - st.bodyStart
			switch {
			case now-st.lastRead > readTO:
				st.refuse(&StatusError{408, "request body made no progress"}, 0)
			case p.MinBodyRate >= 0 && elapsed > readTO &&
				got < int64(orInt(p.MinBodyRate, DefaultMinBodyRate))*elapsed*int64(sweepInterval/time.Second):
				st.refuse(&StatusError{408, "request body slower than the minimum rate"}, 0)
			}
		case c.RecvBufferLen() > 0:
			if now-st.headStart > ticks(orDur(p.ReadHeaderTimeout, DefaultReadHeaderTimeout)) {
				st.refuse(&StatusError{408, "request head timed out"}, 0)
			}
		case c.SendBufferLen() == 0:
			last := st.lastActive
			if st.lastRead > last {
				last = st.lastRead
			}
			if now-last > ticks(orDur(p.IdleTimeout, DefaultIdleTimeout)) {
				c.Close()
			}
		}
	}
}
