package allocator

import (
	"sort"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/mesos-sim/resource"
)

// epsilon absorbs floating-point noise when comparing scalar quantities.
const epsilon = 1e-9

// quantities are scalar resource amounts by name: what DRF shares, quota
// and min-allocatable checks are computed on.
type quantities map[string]float64

func scalarsOf(rs mesos.Resources) quantities {
	q := quantities{}
	q.add(rs, 1)
	return q
}

// add adds (sign 1) or subtracts (sign -1) the scalar parts of rs.
func (q quantities) add(rs mesos.Resources, sign float64) {
	for i := range rs {
		if rs[i].GetType() == mesos.SCALAR {
			q[rs[i].Name] += sign * rs[i].GetScalar().GetValue()
		}
	}
}

func (q quantities) plus(o quantities) {
	for name, v := range o {
		q[name] += v
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// unallocated returns a copy of rs without allocation_info, the form the
// allocator books resources in.
func unallocated(rs mesos.Resources) mesos.Resources {
	var out mesos.Resources
	for _, r := range resource.Clone(rs) {
		r.AllocationInfo = nil
		out = resource.Plus(out, r)
	}
	return out
}

// splitByRole groups resources by their allocation_info.role; resources
// without one go under fallback. The values are shared with rs (see
// resources.go: the allocator never changes a value in place).
func splitByRole(rs mesos.Resources, fallback string) map[string]mesos.Resources {
	out := map[string]mesos.Resources{}
	for _, r := range rs {
		role := fallback
		if r.AllocationInfo != nil && r.AllocationInfo.Role != nil {
			role = *r.AllocationInfo.Role
		}
		r.AllocationInfo = nil
		out[role] = resource.Plus(out[role], r)
	}
	return out
}
