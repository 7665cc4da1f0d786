package procstat

import (
	"bytes"
	"fmt"
	"testing"
)

func FuzzParseStatCPU(f *testing.F) {
	f.Add([]byte("1234 (my (odd) srv) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 3 0 100 1000000 200\n"))
	f.Add([]byte("1 (x) S"))
	f.Add([]byte(")"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseStatCPU(b)
		if err != nil {
			return
		}
		// Whatever the command name holds, the fields after the last
		// parenthesis decide: another name gives the same figure.
		i := bytes.LastIndexByte(b, ')')
		again, err := parseStatCPU(append([]byte("7 (a) b (c)"), b[i+1:]...))
		if err != nil || again != d {
			t.Fatalf("%v %v after renaming, was %v", again, err, d)
		}
	})
}

func FuzzParseStats(f *testing.F) {
	f.Add("mallocs=10 frees=4 heapinuse=8192 heapsys=16384 numgc=2")
	f.Add("mallocs==1")
	f.Add("=")
	f.Fuzz(func(t *testing.T, s string) {
		var sm Sample
		if err := parseStats(s, &sm); err != nil {
			return
		}
		// What was parsed prints and parses back to the same figures.
		var again Sample
		line := fmt.Sprintf("mallocs=%d frees=%d heapinuse=%d heapsys=%d numgc=%d", sm.Mallocs, sm.Frees, sm.HeapInuse, sm.HeapSys, sm.NumGC)
		if err := parseStats(line, &again); err != nil || again != sm {
			t.Fatalf("%q -> %+v -> %q -> %+v %v", s, sm, line, again, err)
		}
	})
}

func FuzzParsePerfCSV(f *testing.F) {
	f.Add("# started\n\n123,,raw_syscalls:sys_enter,5,100.00,,\n60,,syscalls:sys_enter_read,5,100.00,,\n<not counted>,,syscalls:sys_enter_futex,0,100.00,,\n")
	f.Add(",,,")
	f.Add("1,,syscalls:sys_enter_,1")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parsePerfCSV(s)
		if err != nil {
			return
		}
		if _, ok := c[TotalSyscalls]; !ok {
			t.Fatal("result without a total")
		}
	})
}
