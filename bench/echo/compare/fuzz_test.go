package main

import (
	"strings"
	"testing"
)

func FuzzParseScenarios(f *testing.F) {
	for _, s := range []string{"50x64,1000x64,50x4096,1000x4096,50x64x16", "1x1", "x", "9999999999999999999x1", " 2x3x4 ,", "50x64@25000", "1x2x3@4", "1x2@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := parseScenarios(s)
		if err != nil {
			if sc != nil {
				t.Fatalf("scenarios %v with error %v", sc, err)
			}
			return
		}
		if len(sc) == 0 {
			t.Fatal("no scenarios and no error")
		}
		for _, x := range sc {
			if x.Conns < 1 || x.Payload < 1 || x.Depth < 1 || x.Rate < 0 {
				t.Fatalf("%q gave %+v", s, x)
			}
		}
		if len(sc) > strings.Count(s, ",")+1 {
			t.Fatalf("%q gave %d scenarios", s, len(sc))
		}
	})
}

func FuzzParseStraceSummary(f *testing.F) {
	f.Add("% time     seconds  usecs/call     calls    errors syscall\n------ ----------- ----------- --------- --------- ----------------\n 60.00    0.006000           6      1000           write\n 39.00    0.003900           3      1200       200 read\n------ ----------- ----------- --------- --------- ----------------\n100.00    0.010000           4      2200       200 total\n")
	f.Add("1 2 3 -5 x\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseStraceSummary(s)
		if err != nil {
			return
		}
		if len(c) == 0 {
			t.Fatal("empty result without error")
		}
		if _, ok := c["total"]; ok {
			t.Fatal("the total line counted as a system call")
		}
	})
}
