package main

import (
	"encoding/json"
	"math/bits"
	"time"
)

// hist counts nanosecond durations in log-linear buckets (each power of
// two split in 64, so a value is off by less than 1.6 %), the scheme of
// loadgen.Histogram, with a JSON form so that the processes of a row can
// send theirs to the driver, which merges them. Recording never allocates.
type hist struct {
	counts [histBuckets]uint64
	n      uint64
}

const (
	histSubBits = 6
	histSub     = 1 << histSubBits
	histBuckets = (64-histSubBits)*histSub + histSub
)

func histBucket(v int64) int {
	if v < 2*histSub {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - (histSubBits + 1)
	return shift*histSub + int(uint64(v)>>shift)
}

// histMid returns the middle of bucket i.
func histMid(i int) int64 {
	if i < 2*histSub {
		return int64(i)
	}
	shift := i/histSub - 1
	lo := int64(i-shift*histSub) << shift
	return lo + (int64(1)<<shift)/2
}

func (h *hist) record(d int64) {
	h.counts[histBucket(d)]++
	h.n++
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// quantile returns the duration below which a share q of the values lie.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	want := uint64(q*float64(h.n) + 0.5)
	if want < 1 {
		want = 1
	}
	var sum uint64
	for i, c := range h.counts {
		sum += c
		if sum >= want {
			return time.Duration(histMid(i))
		}
	}
	return time.Duration(histMid(histBuckets - 1))
}

// MarshalJSON writes the non-empty buckets as [index, count] pairs.
func (h *hist) MarshalJSON() ([]byte, error) {
	pairs := [][2]uint64{}
	for i, c := range h.counts {
		if c != 0 {
			pairs = append(pairs, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(pairs)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (h *hist) UnmarshalJSON(b []byte) error {
	var pairs [][2]uint64
	if err := json.Unmarshal(b, &pairs); err != nil {
		return err
	}
	*h = hist{}
	for _, p := range pairs {
		if p[0] < histBuckets {
			h.counts[p[0]] += p[1]
			h.n += p[1]
		}
	}
	return nil
}
