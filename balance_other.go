//go:build !linux

package workerman

// Fair accept (balance_linux.go) needs memfd and eventfd; elsewhere the
// processes of a worker accept as the kernel wakes them.

type balancer struct{}

func (*balancer) publish(active int, accepting bool) {}
func (*balancer) lighter(active int) int             { return -1 }
func (*balancer) kick(i int)                         {}

type balanceMem struct{}

func newBalanceMem(count int) (*balanceMem, int, error) { return nil, -1, nil }
func (*balanceMem) release(id, pid int)                 {}
func (*balanceMem) files(memfd int) []uintptr           { return nil }

func openBalancer(w *Worker, id int) (*balancer, error) { return nil, nil }

func (a *acceptor) rest(fd int) bool { return false }
