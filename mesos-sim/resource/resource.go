// Package resource is arithmetic on Mesos resources without reflection.
// mesos-go's Resources.Plus, Minus and resources.ContainsAll deep-copy every
// resource through proto.Clone, which dominated mesos-sim's allocation
// cycle and ACCEPT handling. mesos-go's per-resource Add and Subtract never
// modify the values a Resource points to (they store newly built values),
// so copying the Resource structs is enough to keep two collections
// independent under arithmetic. The functions here never change their
// arguments; their results may share values with them, so callers treat
// resources as immutable values (as mesos-go's arithmetic does) and use
// Clone before changing a value in place.
package resource

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// epsilon absorbs floating-point noise: a scalar left at or below it by a
// subtraction is gone.
const epsilon = 1e-9

// Clone copies rs deeply: values, allocation info and
// reservations are the caller's to change afterwards.
func Clone(rs mesos.Resources) mesos.Resources {
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

// Plus returns rs + more; neither argument changes.
func Plus(rs mesos.Resources, more ...mesos.Resource) mesos.Resources {
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

// Minus returns rs - less; neither argument changes. Parts of less that
// rs does not hold are ignored.
func Minus(rs mesos.Resources, less ...mesos.Resource) mesos.Resources {
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

// ContainsNormalized reports whether have holds every resource of want,
// when both are normalised (built with Plus and Minus, so that no two of
// their resources are addable): each resource of want must then fit in one
// resource of have. It allocates nothing.
func ContainsNormalized(have, want mesos.Resources) bool {
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

// Contains reports whether have holds every resource of want, for any
// want: each resource of want is taken from what is left of have.
func Contains(have, want mesos.Resources) bool {
	left := append(mesos.Resources(nil), have...)
	for i := range want {
		if want[i].IsEmpty() {
			continue
		}
		found := false
		for j := range left {
			if left[j].Contains(want[i]) {
				left[j].Subtract(want[i])
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

// Intersect returns the part of want that have holds: what can really be
// taken back from an allocation.
func Intersect(have, want mesos.Resources) mesos.Resources {
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
			out = Plus(out, take)
			l.Subtract(take)
			break
		}
	}
	return out
}
