//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly) || workerman_portable

package eventloop

import "time"

// PollsDescriptors reports whether the loop watches file descriptors
// (epoll on Linux, kqueue on macOS and the BSDs). Where it is false,
// AddHandler returns ErrNoPoller and I/O must be done by goroutines that
// post to the loop.
const PollsDescriptors = false

// poller is the portable back end, used where the package has no
// descriptor poller (Windows and other systems, or any system when built
// with the workerman_portable tag). It runs timers and posted tasks only:
// AddHandler returns ErrNoPoller, and I/O is done by goroutines that post
// their results to the loop.
type poller struct {
	wakeCh chan struct{}
	timer  *time.Timer
}

func (p *poller) open() error {
	p.wakeCh = make(chan struct{}, 1)
	p.timer = time.NewTimer(time.Hour)
	p.timer.Stop()
	return nil
}

func (p *poller) close() {}

func (p *poller) wake() {
	select {
	case p.wakeCh <- struct{}{}:
	default: // a wake-up is already pending
	}
}

func (p *poller) add(int, Event, uint32, bool) error { return ErrNoPoller }
func (p *poller) mod(int, Event, uint32) error       { return ErrNoPoller }
func (p *poller) del(int) error                      { return ErrNoPoller }
func (p *poller) delClose(int) error                 { return ErrNoPoller }

// wait blocks until a wake-up or until timeout milliseconds have passed
// (-1 for no limit). It never dispatches anything.
func (p *poller) wait(_ *Loop, timeout int) (int, error) {
	switch {
	case timeout == 0:
		select {
		case <-p.wakeCh:
		default:
		}
	case timeout < 0:
		<-p.wakeCh
	default:
		p.timer.Reset(time.Duration(timeout) * time.Millisecond)
		select {
		case <-p.wakeCh:
		case <-p.timer.C:
		}
		p.timer.Stop()
	}
	return 0, nil
}

// pollerName is what Loop.Poller reports: there is no descriptor poller.
const pollerName = "none"
