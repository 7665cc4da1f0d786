package eventloop

import "testing"

// BenchmarkOffLoop measures the loop-ownership check that connection
// methods make on every call.
func BenchmarkOffLoop(b *testing.B) {
	l, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer l.p.close()
	l.owner.Store(curg())
	n := 0
	for b.Loop() {
		if l.OffLoop() {
			n++
		}
	}
	if n != 0 {
		b.Fatal("OffLoop on the owning goroutine")
	}
}

// BenchmarkDispatchRecover measures a descriptor's dispatch with the panic
// handler set (a deferred recover) against without.
func BenchmarkDispatchRecover(b *testing.B) {
	for _, recoverOn := range []bool{false, true} {
		name := "plain"
		if recoverOn {
			name = "recover"
		}
		b.Run(name, func(b *testing.B) {
			l, err := New()
			if err != nil {
				b.Fatal(err)
			}
			defer l.p.close()
			if recoverOn {
				l.SetPanicHandler(func(any, []byte) {})
			}
			n := 0
			l.handlers = make([]handlerSlot, 8)
			l.handlers[5] = handlerSlot{h: HandlerFunc(func(int, Event) { n++ }), gen: 1}
			for b.Loop() {
				l.dispatch(5, 1, Readable)
			}
		})
	}
}
