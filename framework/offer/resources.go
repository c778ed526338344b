package offer

import (
	"math"
	"sort"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// epsilon absorbs the float rounding of Mesos' fixed-point scalars.
const epsilon = 1e-6

// Summarize adds up the cpus, mem, disk and ports of rs.
func Summarize(rs []mesos.Resource) mesosoffers.Resources {
	var out mesosoffers.Resources
	for _, r := range rs {
		switch r.GetName() {
		case "cpus":
			out.CPUs += r.GetScalar().GetValue()
		case "mem":
			out.MemMiB += r.GetScalar().GetValue()
		case "disk":
			out.DiskMiB += r.GetScalar().GetValue()
		case "ports":
			for _, rg := range r.GetRanges().GetRange() {
				out.Ports = append(out.Ports, mesosoffers.PortRange{Begin: uint32(rg.Begin), End: uint32(rg.End)})
			}
		}
	}
	out.Ports = normalizePorts(out.Ports)
	return out
}

// Add returns a+b.
func Add(a, b mesosoffers.Resources) mesosoffers.Resources {
	return mesosoffers.Resources{
		CPUs:    a.CPUs + b.CPUs,
		MemMiB:  a.MemMiB + b.MemMiB,
		DiskMiB: a.DiskMiB + b.DiskMiB,
		Ports:   normalizePorts(append(append([]mesosoffers.PortRange(nil), a.Ports...), b.Ports...)),
	}
}

// Sub returns a-b, scalars floored at zero and ports removed.
func Sub(a, b mesosoffers.Resources) mesosoffers.Resources {
	return mesosoffers.Resources{
		CPUs:    math.Max(0, a.CPUs-b.CPUs),
		MemMiB:  math.Max(0, a.MemMiB-b.MemMiB),
		DiskMiB: math.Max(0, a.DiskMiB-b.DiskMiB),
		Ports:   subtractPorts(a.Ports, b.Ports),
	}
}

// Fits reports whether need fits in have, and if not, the first resource
// that is short.
func Fits(need, have mesosoffers.Resources) (ok bool, short string) {
	switch {
	case need.CPUs > have.CPUs+epsilon:
		return false, "cpus"
	case need.MemMiB > have.MemMiB+epsilon:
		return false, "mem"
	case need.DiskMiB > have.DiskMiB+epsilon:
		return false, "disk"
	}
	for _, p := range need.Ports {
		for port := p.Begin; port <= p.End; port++ {
			if !PortIn(port, have.Ports) {
				return false, "ports"
			}
			if port == math.MaxUint32 {
				break
			}
		}
	}
	return true, ""
}

// PortIn reports whether port lies in one of ranges.
func PortIn(port uint32, ranges []mesosoffers.PortRange) bool {
	for _, r := range ranges {
		if port >= r.Begin && port <= r.End {
			return true
		}
	}
	return false
}

func normalizePorts(in []mesosoffers.PortRange) []mesosoffers.PortRange {
	if len(in) == 0 {
		return nil
	}
	rs := append([]mesosoffers.PortRange(nil), in...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Begin < rs[j].Begin })
	out := []mesosoffers.PortRange{rs[0]}
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if uint64(r.Begin) <= uint64(last.End)+1 {
			if r.End > last.End {
				last.End = r.End
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

func subtractPorts(from, minus []mesosoffers.PortRange) []mesosoffers.PortRange {
	out := normalizePorts(from)
	for _, m := range minus {
		var next []mesosoffers.PortRange
		for _, r := range out {
			if m.End < r.Begin || m.Begin > r.End {
				next = append(next, r)
				continue
			}
			if m.Begin > r.Begin {
				next = append(next, mesosoffers.PortRange{Begin: r.Begin, End: m.Begin - 1})
			}
			if m.End < r.End {
				next = append(next, mesosoffers.PortRange{Begin: m.End + 1, End: r.End})
			}
		}
		out = next
	}
	return out
}

// Carve takes need out of the offered resources from, keeping each taken
// piece's reservations and allocation, as a task's resources must name them.
// It returns the taken resources and what is left, or ok false when from
// does not hold need.
func Carve(from []mesos.Resource, need mesosoffers.Resources) (taken, rest []mesos.Resource, ok bool) {
	rest = make([]mesos.Resource, 0, len(from))
	for _, r := range from {
		rest = append(rest, *proto(r))
	}
	scalars := []struct {
		name string
		want float64
	}{{"cpus", need.CPUs}, {"mem", need.MemMiB}, {"disk", need.DiskMiB}}
	for _, s := range scalars {
		want := s.want
		for i := range rest {
			if want <= epsilon {
				break
			}
			r := &rest[i]
			if r.GetName() != s.name || r.Scalar == nil || r.Scalar.Value <= epsilon {
				continue
			}
			amount := math.Min(want, r.Scalar.Value)
			piece := proto(*r)
			piece.Scalar = &mesos.Value_Scalar{Value: round(amount)}
			taken = append(taken, *piece)
			r.Scalar.Value = round(r.Scalar.Value - amount)
			want -= amount
		}
		if want > epsilon {
			return nil, nil, false
		}
	}
	for _, p := range need.Ports {
		for port := p.Begin; ; port++ {
			found := false
			for i := range rest {
				r := &rest[i]
				if r.GetName() != "ports" || r.Ranges == nil {
					continue
				}
				if idx := rangeIndex(r.Ranges.Range, uint64(port)); idx >= 0 {
					piece := proto(*r)
					piece.Ranges = &mesos.Value_Ranges{Range: []mesos.Value_Range{{Begin: uint64(port), End: uint64(port)}}}
					taken = append(taken, *piece)
					r.Ranges.Range = splitRange(r.Ranges.Range, idx, uint64(port))
					found = true
					break
				}
			}
			if !found {
				return nil, nil, false
			}
			if port >= p.End {
				break
			}
		}
	}
	kept := rest[:0]
	for _, r := range rest {
		if (r.Scalar != nil && r.Scalar.Value <= epsilon) || (r.Ranges != nil && len(r.Ranges.Range) == 0) {
			continue
		}
		kept = append(kept, r)
	}
	return taken, kept, true
}

func rangeIndex(rs []mesos.Value_Range, port uint64) int {
	for i, r := range rs {
		if port >= r.Begin && port <= r.End {
			return i
		}
	}
	return -1
}

func splitRange(rs []mesos.Value_Range, idx int, port uint64) []mesos.Value_Range {
	r := rs[idx]
	out := append([]mesos.Value_Range(nil), rs[:idx]...)
	if port > r.Begin {
		out = append(out, mesos.Value_Range{Begin: r.Begin, End: port - 1})
	}
	if port < r.End {
		out = append(out, mesos.Value_Range{Begin: port + 1, End: r.End})
	}
	return append(out, rs[idx+1:]...)
}

// proto deep-copies a resource (its scalar and ranges are replaced by
// Carve, the rest is shared read-only).
func proto(r mesos.Resource) *mesos.Resource {
	c := r
	if r.Scalar != nil {
		s := *r.Scalar
		c.Scalar = &s
	}
	if r.Ranges != nil {
		c.Ranges = &mesos.Value_Ranges{Range: append([]mesos.Value_Range(nil), r.Ranges.Range...)}
	}
	return &c
}

// round keeps Mesos' three decimals of fixed-point precision.
func round(v float64) float64 { return math.Round(v*1000) / 1000 }
