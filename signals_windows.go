package workerman

import "os"

// Windows delivers only Ctrl+C and Ctrl+Break (os.Interrupt) to a console
// program: both stop it. There is no reload signal.

func (m *master) installSignals() {
	m.loop.OnSignal(os.Interrupt, func(os.Signal) { m.stop(false) })
}

func (cp *childProc) installSignals() {
	theProc().loop.OnSignal(os.Interrupt, func(os.Signal) { cp.stop(true, StopTimeout, false) })
}
