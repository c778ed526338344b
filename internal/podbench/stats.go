package podbench

import (
	"math"
	"slices"
	"time"
)

// Latencies summarises a set of durations.
type Latencies struct {
	P50, P90, P99, Max time.Duration
}

// Summarize returns the nearest-rank percentiles of ds (zero for none). ds
// is not modified.
func Summarize(ds []time.Duration) Latencies {
	if len(ds) == 0 {
		return Latencies{}
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	return Latencies{
		P50: Percentile(sorted, 50),
		P90: Percentile(sorted, 90),
		P99: Percentile(sorted, 99),
		Max: sorted[len(sorted)-1],
	}
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted,
// which must be in ascending order: the smallest value that at least p % of
// the values are less than or equal to.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Median is the median of xs (the mean of the middle two for an even
// count; 0 for none). xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
