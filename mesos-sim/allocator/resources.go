package allocator

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Resource arithmetic without reflection. mesos-go's Resources.Plus and
// Minus deep-copy every resource through proto.Clone, which dominates an
// allocation cycle. Its per-resource Add and Subtract never modify the
// values they point to (they store newly built values), so a copy of the
// Resource structs is enough to keep two collections independent under
// arithmetic, and the allocator treats every slice it books as immutable:
// slices and values are shared freely between available, allocated and
// offered resources. Resources coming in are copied with cloneResources;
// resources going out (Allocation.Resources) share values with the books
// and must be treated as read-only, as mesos-go's arithmetic does.

// cloneResources copies rs deeply: values, allocation info and
// reservations are the caller's to change afterwards.
func cloneResources(rs mesos.Resources) mesos.Resources {
	if rs == nil {
		return nil
	}
	out := make(mesos.Resources, len(rs))
	for i, r := range rs {
		if r.Scalar != nil {
			s := *r.Scalar
			r.Scalar = &s
		}
		if r.Ranges != nil {
			r.Ranges = &mesos.Value_Ranges{Range: append([]mesos.Value_Range(nil), r.Ranges.Range...)}
		}
		if r.Set != nil {
			r.Set = &mesos.Value_Set{Item: append([]string(nil), r.Set.Item...)}
		}
		if r.AllocationInfo != nil {
			ai := *r.AllocationInfo
			if ai.Role != nil {
				role := *ai.Role
				ai.Role = &role
			}
			r.AllocationInfo = &ai
		}
		if r.Reservations != nil {
			r.Reservations = append([]mesos.Resource_ReservationInfo(nil), r.Reservations...)
		}
		out[i] = r
	}
	return out
}

// plus returns rs + more; neither argument changes.
func plus(rs mesos.Resources, more ...mesos.Resource) mesos.Resources {
	out := make(mesos.Resources, len(rs), len(rs)+len(more))
	copy(out, rs)
	for _, m := range more {
		if m.IsEmpty() {
			continue
		}
		merged := false
		for i := range out {
			if out[i].Addable(m) {
				out[i].Add(m)
				merged = true
				break
			}
		}
		if !merged {
			out = append(out, m)
		}
	}
	return out
}

// minus returns rs - less; neither argument changes. Parts of less that
// rs does not hold are ignored.
func minus(rs mesos.Resources, less ...mesos.Resource) mesos.Resources {
	out := make(mesos.Resources, len(rs))
	copy(out, rs)
	for _, l := range less {
		if l.IsEmpty() {
			continue
		}
		for i := range out {
			if !out[i].Subtractable(l) {
				continue
			}
			out[i].Subtract(l)
			if out[i].IsEmpty() || (out[i].GetType() == mesos.SCALAR && out[i].GetScalar().GetValue() <= epsilon) {
				out = append(out[:i], out[i+1:]...)
			}
			break
		}
	}
	return out
}

// contains reports whether have holds every resource of want. Both are
// normalised (built with plus and minus, so no two of their resources are
// addable): each resource of want must fit in one resource of have.
func contains(have, want mesos.Resources) bool {
	for i := range want {
		if want[i].IsEmpty() {
			continue
		}
		found := false
		for j := range have {
			if have[j].Contains(want[i]) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// intersect returns the part of want that have holds: what can really be
// taken back from an allocation.
func intersect(have, want mesos.Resources) mesos.Resources {
	var out mesos.Resources
	left := append(mesos.Resources(nil), have...)
	for _, w := range want {
		for i := range left {
			l := &left[i]
			if !l.Subtractable(w) {
				continue
			}
			take := w
			if w.GetType() == mesos.SCALAR && l.GetScalar().GetValue() < w.GetScalar().GetValue() {
				take = *l
			} else if !l.Contains(w) {
				continue
			}
			out = plus(out, take)
			l.Subtract(take)
			break
		}
	}
	return out
}
