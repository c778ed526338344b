package master

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/quota"

	"github.com/kubemesos/kubemesos/mesos-sim/allocator"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// quantities are scalar resource amounts by name, as quotas are expressed.
type quantities map[string]float64

// String renders quantities as Mesos does: "cpus:3; mem:2048".
func (q quantities) String() string {
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, name := range names {
		parts = append(parts, name+":"+formatScalar(q[name]))
	}
	return strings.Join(parts, "; ")
}

// formatScalar renders a quantity as Mesos prints scalars.
func formatScalar(v float64) string { return string(appendFloat(nil, roundScalar(v))) }

// add adds the scalar resources of rs.
func (q quantities) add(rs []mesos.Resource) {
	for i := range rs {
		if rs[i].GetType() == mesos.SCALAR {
			q[rs[i].Name] += rs[i].GetScalar().GetValue()
		}
	}
}

// contains reports whether q holds at least other of every resource.
func (q quantities) contains(other quantities) bool {
	for name, v := range other {
		if v > 0 && q[name]+1e-9 < v {
			return false
		}
	}
	return true
}

// within reports whether q stays within limits; names without a limit are
// unlimited.
func (q quantities) within(limits quantities) bool {
	for name, limit := range limits {
		if q[name] > limit+1e-9 {
			return false
		}
	}
	return true
}

// scalarMap converts protobuf scalars to quantities.
func scalarMap(m map[string]mesos.Value_Scalar) quantities {
	q := make(quantities, len(m))
	for name, v := range m {
		q[name] = v.Value
	}
	return q
}

// scalarValues converts quantities to protobuf scalars.
func scalarValues(q quantities) map[string]mesos.Value_Scalar {
	out := make(map[string]mesos.Value_Scalar, len(q))
	for name, v := range q {
		out[name] = mesos.Value_Scalar{Value: v}
	}
	return out
}

// quotaParts splits an allocator quota into guarantees and limits.
func quotaParts(q allocator.Quota) (guarantees, limits quantities) {
	return quantities(q.Guarantees), quantities(q.Limits)
}

// quotaStatusLocked is GET_QUOTA: every role with a quota, as the current
// configs and as the legacy guarantee-only infos.
func (m *Master) quotaStatusLocked() quota.QuotaStatus {
	quotas := m.alloc.Quotas()
	roles := make([]string, 0, len(quotas))
	for role := range quotas {
		roles = append(roles, role)
	}
	sort.Strings(roles)
	var st quota.QuotaStatus
	for _, role := range roles {
		guarantees, limits := quotaParts(quotas[role])
		r := role
		info := quota.QuotaInfo{Role: &r}
		names := make([]string, 0, len(guarantees))
		for name := range guarantees {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			info.Guarantee = append(info.Guarantee, mesos.Resource{
				Name: name, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: guarantees[name]},
			})
		}
		st.Infos = append(st.Infos, info)
		st.Configs = append(st.Configs, quota.QuotaConfig{Role: role, Guarantees: scalarValues(guarantees), Limits: scalarValues(limits)})
	}
	return st
}

// validateQuotaConfig is Mesos' quota::validate for one config; it returns
// what is wrong, in Mesos' words, or "".
func validateQuotaConfig(role string, guarantees, limits quantities) string {
	if err := ValidateRole(role); err != nil {
		return fmt.Sprintf("Invalid 'QuotaConfig.role': %v", err)
	}
	if role == "*" {
		return "Invalid 'QuotaConfig.role': setting quota for the default '*' role is not supported"
	}
	for _, kind := range []struct {
		what string
		q    quantities
	}{{"guarantee", guarantees}, {"limit", limits}} {
		for name, v := range kind.q {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Sprintf("Invalid %s '%s:%v': values must be finite and non-negative", kind.what, name, v)
			}
		}
	}
	if !guarantees.within(limits) {
		return fmt.Sprintf("'QuotaConfig.guarantees' %s is not contained within the 'QuotaConfig.limits' %s", guarantees, limits)
	}
	return ""
}

// updateQuota is UPDATE_QUOTA: every config is validated (role, values,
// guarantees within limits, and unless forced, limits above what the role
// already consumes and guarantees within the cluster's capacity), then all
// are applied, and offers are rescinded as Mesos does, best effort: the
// role's own offers while it is above its limits, then other roles' offers
// until its guarantees can be met. A config with neither guarantees nor
// limits removes the role's quota.
func (m *Master) updateQuota(configs []quota.QuotaConfig, force bool) *wire.Error {
	bad := func(format string, args ...any) *wire.Error {
		return wire.Errorf(http.StatusBadRequest, format, args...)
	}
	for _, c := range configs {
		if strings.Contains(c.Role, "/") {
			return bad("Updating quota on nested role '%s' is not supported yet", c.Role)
		}
		if msg := validateQuotaConfig(c.Role, scalarMap(c.Guarantees), scalarMap(c.Limits)); msg != "" {
			return bad("Invalid QuotaConfig: %s", msg)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !force {
		for _, c := range configs {
			limits := scalarMap(c.Limits)
			if consumed := m.roleConsumedLocked(c.Role); !consumed.within(limits) {
				return bad("Invalid QuotaConfig: Role '%s' is already consuming '%s'; this is more than the requested limits '%s' (use 'force' flag to bypass this check)",
					c.Role, consumed, limits)
			}
		}
		total := quantities{}
		updated := map[string]bool{}
		for _, c := range configs {
			updated[c.Role] = true
			for name, v := range c.Guarantees {
				total[name] += v.Value
			}
		}
		for role, q := range m.alloc.Quotas() {
			if !updated[role] {
				guarantees, _ := quotaParts(q)
				for name, v := range guarantees {
					total[name] += v
				}
			}
		}
		capacity := quantities{}
		for _, ag := range m.agents {
			for i := range ag.info.Resources {
				if ag.info.Resources[i].Revocable == nil {
					capacity.add(ag.info.Resources[i : i+1])
				}
			}
		}
		if !capacity.contains(total) {
			return bad("Invalid QuotaConfig: total quota guarantees '%s' exceed cluster capacity '%s' (use 'force' flag to bypass this check)", total, capacity)
		}
	}
	for _, c := range configs {
		m.applyQuotaLocked(c.Role, scalarMap(c.Guarantees), scalarMap(c.Limits))
	}
	return nil
}

// applyQuotaLocked sets a role's quota in the allocator and rescinds offers
// to enforce it.
func (m *Master) applyQuotaLocked(role string, guarantees, limits quantities) {
	m.alloc.UpdateQuota(role, limits, guarantees)
	m.log.Info("operator updated quota", "role", role, "guarantees", guarantees.String(), "limits", limits.String())
	inRole := func(o *offer) bool { return o.role == role || strings.HasPrefix(o.role, role+"/") }
	held := m.roleConsumedLocked(role)
	for _, o := range m.offers {
		if inRole(o) {
			held.add(o.o.Resources)
		}
	}
	for _, o := range m.offers {
		if held.within(limits) {
			break
		}
		if inRole(o) {
			for i := range o.o.Resources {
				if o.o.Resources[i].GetType() == mesos.SCALAR {
					held[o.o.Resources[i].Name] -= o.o.Resources[i].GetScalar().GetValue()
				}
			}
			m.rescindOffer(o, true)
		}
	}
	rescinded := quantities{}
	for _, o := range m.offers {
		sum := quantities{}
		for name, v := range held {
			sum[name] += v
		}
		for name, v := range rescinded {
			sum[name] += v
		}
		if sum.contains(guarantees) {
			break
		}
		if !inRole(o) {
			rescinded.add(o.o.Resources)
			m.rescindOffer(o, true)
		}
	}
	m.requestAllocation()
}

// roleConsumedLocked sums the scalar resources that live tasks and
// executors hold in a role or its subroles.
func (m *Master) roleConsumedLocked(role string) quantities {
	in := func(rs []mesos.Resource) bool {
		r := resourceRole(rs)
		return r == role || strings.HasPrefix(r, role+"/")
	}
	q := quantities{}
	for _, fw := range m.frameworks {
		for _, t := range fw.tasks {
			if !isTerminal(t.state()) && in(t.t.Resources) {
				q.add(t.t.Resources)
			}
		}
		for _, execs := range fw.executors {
			for _, e := range execs {
				if in(e.Resources) {
					q.add(e.Resources)
				}
			}
		}
	}
	return q
}

// setQuota is the deprecated SET_QUOTA: the guarantee becomes both the
// guarantee and the limit, on a role that has no quota yet.
func (m *Master) setQuota(req *quota.QuotaRequest) *wire.Error {
	role := req.GetRole()
	q := quantities{}
	q.add(req.Guarantee)
	m.mu.Lock()
	_, exists := m.alloc.Quotas()[role]
	m.mu.Unlock()
	if exists {
		return wire.Errorf(http.StatusBadRequest, "Failed to validate set quota request: Can not set quota for role '%s' which already has quota", role)
	}
	return m.updateQuota([]quota.QuotaConfig{{Role: role, Guarantees: scalarValues(q), Limits: scalarValues(q)}}, req.GetForce())
}

// removeQuota is the deprecated REMOVE_QUOTA.
func (m *Master) removeQuota(role string) *wire.Error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, exists := m.alloc.Quotas()[role]; !exists {
		return wire.Errorf(http.StatusBadRequest, "Failed to remove quota: Role '%s' has no quota set", role)
	}
	m.applyQuotaLocked(role, nil, nil)
	return nil
}
