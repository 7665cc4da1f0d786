package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets the precision of a Histogram: each power of two is split in
// 1<<subBits buckets, so a recorded value is off by less than 1/64 (1.6%).
const subBits = 6

const (
	subCount   = 1 << subBits
	numBuckets = (64-subBits)*subCount + subCount
)

// Histogram counts durations in logarithmic buckets of bounded relative
// error. Recording is a few arithmetic operations and never allocates. The
// zero value is ready to use; a Histogram is not safe for concurrent use.
type Histogram struct {
	counts [numBuckets]uint64
	total  uint64
	sum    float64
	min    int64
	max    int64
}

func bucketOf(v int64) int {
	if v < 2*subCount {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - (subBits + 1)
	return shift*subCount + int(uint64(v)>>shift)
}

// bucketBounds returns the smallest value of bucket i and the bucket width.
func bucketBounds(i int) (lo, width int64) {
	if i < 2*subCount {
		return int64(i), 1
	}
	shift := i/subCount - 1
	mant := int64(i - shift*subCount)
	return mant << shift, int64(1) << shift
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)]++
	if h.total == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.total++
	h.sum += float64(v)
}

// Count returns the number of recorded durations.
func (h *Histogram) Count() uint64 { return h.total }

// Min returns the smallest recorded duration, or 0.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Max returns the largest recorded duration, or 0.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean returns the average recorded duration, or 0.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.total))
}

// Quantile returns the duration below which the fraction q (0 to 1) of the
// recorded durations lie, within the histogram's precision. It returns 0
// for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	if q <= 0 {
		return time.Duration(h.min)
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, n := range h.counts {
		seen += n
		if seen >= rank {
			lo, w := bucketBounds(i)
			v := lo + (w-1)/2
			// The exact extremes are known; never report beyond them.
			v = max(v, h.min)
			v = min(v, h.max)
			return time.Duration(v)
		}
	}
	return time.Duration(h.max)
}

// Merge adds the counts of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i, n := range o.counts {
		h.counts[i] += n
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.total += o.total
	h.sum += o.sum
}

// Reset empties the histogram.
func (h *Histogram) Reset() { *h = Histogram{} }
