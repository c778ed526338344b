package master

import (
	"math"
	"net/http"
	"sort"
	"strings"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	opapi "github.com/mesos/mesos-go/api/v1/lib/master"

	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// This file builds the typed responses of the v1 operator API's read calls
// and carries out UPDATE_WEIGHTS. The read calls work from a stateView,
// copied under the master's lock in a few milliseconds even with 200,000
// tasks; building and encoding the response happen without the lock.

// v1State is GET_STATE (and the state in a SUBSCRIBED event).
func v1State(v *stateView) *opapi.Response_GetState {
	return &opapi.Response_GetState{
		GetTasks:      v1Tasks(v),
		GetExecutors:  v1Executors(v),
		GetFrameworks: v1Frameworks(v),
		GetAgents:     v1Agents(v),
	}
}

// v1Agents is GET_AGENTS.
func v1Agents(v *stateView) *opapi.Response_GetAgents {
	used := make([]resourceTotal, len(v.agents))
	offered := make([]resourceTotal, len(v.agents))
	byID := make(map[string]int, len(v.agents))
	for i := range v.agents {
		byID[v.agents[i].info.GetID().GetValue()] = i
	}
	for fi := range v.frameworks {
		f := &v.frameworks[fi]
		for ti := range f.tasks {
			t := &f.tasks[ti]
			if i, ok := byID[t.AgentID.Value]; ok && !isTerminal(t.GetState()) {
				used[i].add(t.Resources)
			}
		}
		for _, e := range f.executors {
			if i, ok := byID[e.agentID]; ok {
				used[i].add(e.info.Resources)
			}
		}
		for _, o := range f.offers {
			if i, ok := byID[o.AgentID.Value]; ok {
				offered[i].add(o.Resources)
			}
		}
	}
	out := &opapi.Response_GetAgents{Agents: make([]opapi.Response_GetAgents_Agent, len(v.agents))}
	for i := range v.agents {
		a := &v.agents[i]
		deactivated := !a.active
		pid := agentPID(a.endpoint, &a.info)
		out.Agents[i] = opapi.Response_GetAgents_Agent{
			AgentInfo:          a.info,
			Active:             a.active,
			Deactivated:        &deactivated,
			Version:            a.version,
			PID:                &pid,
			RegisteredTime:     timeInfo(a.registered),
			ReregisteredTime:   timeInfo(a.reregistered),
			TotalResources:     a.info.Resources,
			AllocatedResources: used[i].resources(),
			OfferedResources:   offered[i].resources(),
			Capabilities:       a.caps,
		}
	}
	sort.Slice(out.Agents, func(i, j int) bool {
		return out.Agents[i].AgentInfo.GetID().GetValue() < out.Agents[j].AgentInfo.GetID().GetValue()
	})
	return out
}

// v1Frameworks is GET_FRAMEWORKS.
func v1Frameworks(v *stateView) *opapi.Response_GetFrameworks {
	out := &opapi.Response_GetFrameworks{Frameworks: make([]opapi.Response_GetFrameworks_Framework, 0, len(v.frameworks))}
	for i := range v.frameworks {
		out.Frameworks = append(out.Frameworks, v1Framework(&v.frameworks[i]))
	}
	sort.Slice(out.Frameworks, func(i, j int) bool {
		return out.Frameworks[i].FrameworkInfo.GetID().GetValue() < out.Frameworks[j].FrameworkInfo.GetID().GetValue()
	})
	for i := range v.completed {
		out.CompletedFrameworks = append(out.CompletedFrameworks, v1Framework(&v.completed[i]))
	}
	return out
}

// v1Framework is a framework as GET_FRAMEWORKS reports it.
func v1Framework(f *frameworkView) opapi.Response_GetFrameworks_Framework {
	var used, offered resourceTotal
	for i := range f.tasks {
		if !isTerminal(f.tasks[i].GetState()) {
			used.add(f.tasks[i].Resources)
		}
	}
	for _, e := range f.executors {
		used.add(e.info.Resources)
	}
	out := opapi.Response_GetFrameworks_Framework{
		FrameworkInfo:    f.info,
		Active:           f.active,
		Connected:        f.connected,
		RegisteredTime:   timeInfo(f.registered),
		ReregisteredTime: timeInfo(f.reregistered),
		UnregisteredTime: timeInfo(f.unregistered),
	}
	for _, o := range f.offers {
		out.Offers = append(out.Offers, offerForFramework(o, frameworkCaps{multiRole: f.multiRole}))
		offered.add(o.Resources)
	}
	out.AllocatedResources = used.resources()
	out.OfferedResources = offered.resources()
	return out
}

// v1Executors is GET_EXECUTORS.
func v1Executors(v *stateView) *opapi.Response_GetExecutors {
	out := &opapi.Response_GetExecutors{}
	for i := range v.frameworks {
		for _, e := range v.frameworks[i].executors {
			out.Executors = append(out.Executors, opapi.Response_GetExecutors_Executor{
				ExecutorInfo: *e.info,
				AgentID:      mesos.AgentID{Value: e.agentID},
			})
		}
	}
	return out
}

// v1Tasks is GET_TASKS: the tasks of registered and completed frameworks,
// without task data. The tasks are copied out of the view.
func v1Tasks(v *stateView) *opapi.Response_GetTasks {
	var live, unreachable, completed int
	for _, fws := range [][]frameworkView{v.frameworks, v.completed} {
		for i := range fws {
			live += len(fws[i].tasks)
			unreachable += len(fws[i].unreachable)
			completed += len(fws[i].completed)
		}
	}
	out := &opapi.Response_GetTasks{
		Tasks:            make([]mesos.Task, 0, live),
		UnreachableTasks: make([]mesos.Task, 0, unreachable),
		CompletedTasks:   make([]mesos.Task, 0, completed),
	}
	for _, fws := range [][]frameworkView{v.frameworks, v.completed} {
		for i := range fws {
			f := &fws[i]
			for j := range f.tasks {
				out.Tasks = append(out.Tasks, withoutData(f.tasks[j]))
			}
			for j := range f.unreachable {
				out.UnreachableTasks = append(out.UnreachableTasks, withoutData(f.unreachable[j]))
			}
			for _, t := range f.completed {
				out.CompletedTasks = append(out.CompletedTasks, withoutData(*t))
			}
		}
	}
	return out
}

// resourceTotal adds up resources as Mesos' Resources arithmetic does:
// resources that differ only in amount merge into one. Plain resources
// (no reservation, disk, revocable, shared or provider info) take a fast
// path; others go through mesos-go's arithmetic. The inputs are never
// modified.
type resourceTotal struct {
	plain []mesos.Resource
	other mesos.Resources
}

// plainResource reports whether r takes resourceTotal's fast path.
func plainResource(r *mesos.Resource) bool {
	return r.Reservation == nil && len(r.Reservations) == 0 && r.Disk == nil && r.Revocable == nil &&
		r.Shared == nil && r.ProviderID == nil && (r.Role == nil || *r.Role == "*")
}

// add adds resources to the total.
func (a *resourceTotal) add(rs []mesos.Resource) {
next:
	for i := range rs {
		r := &rs[i]
		if !plainResource(r) {
			a.other.Add1(*r)
			continue
		}
		role := r.GetAllocationInfo().GetRole()
		for j := range a.plain {
			p := &a.plain[j]
			if p.Name != r.Name || p.GetType() != r.GetType() || p.GetAllocationInfo().GetRole() != role {
				continue
			}
			switch r.GetType() {
			case mesos.SCALAR:
				p.Scalar.Value += r.GetScalar().GetValue()
			case mesos.RANGES:
				p.Ranges.Range = append(p.Ranges.Range, r.GetRanges().GetRange()...)
			case mesos.SET:
				p.Set.Item = appendMissing(p.Set.Item, r.GetSet().GetItem())
			}
			continue next
		}
		// A fresh copy: the sums above must not write into the master's
		// resources.
		p := mesos.Resource{Name: r.Name, Type: r.Type, Role: r.Role, AllocationInfo: r.AllocationInfo}
		switch r.GetType() {
		case mesos.SCALAR:
			p.Scalar = &mesos.Value_Scalar{Value: r.GetScalar().GetValue()}
		case mesos.RANGES:
			p.Ranges = &mesos.Value_Ranges{Range: append([]mesos.Value_Range(nil), r.GetRanges().GetRange()...)}
		case mesos.SET:
			p.Set = &mesos.Value_Set{Item: append([]string(nil), r.GetSet().GetItem()...)}
		}
		a.plain = append(a.plain, p)
	}
}

// resources returns the total, with scalars at Mesos' precision and ranges
// merged.
func (a *resourceTotal) resources() []mesos.Resource {
	out := make([]mesos.Resource, 0, len(a.plain)+len(a.other))
	for _, p := range a.plain {
		switch {
		case p.Scalar != nil:
			p.Scalar.Value = roundScalar(p.Scalar.Value)
		case p.Ranges != nil:
			p.Ranges.Range = coalesceRanges(p.Ranges.Range)
		}
		out = append(out, p)
	}
	return append(out, a.other...)
}

// appendMissing appends the items not yet in set.
func appendMissing(set, items []string) []string {
next:
	for _, it := range items {
		for _, have := range set {
			if have == it {
				continue next
			}
		}
		set = append(set, it)
	}
	return set
}

// withoutData returns the task with no data in its statuses. The master
// strips data from the statuses it records; statuses an agent reports when
// it re-registers are stripped here.
func withoutData(t mesos.Task) mesos.Task {
	for i := range t.Statuses {
		if t.Statuses[i].Data == nil {
			continue
		}
		statuses := make([]mesos.TaskStatus, len(t.Statuses))
		copy(statuses, t.Statuses)
		for j := range statuses {
			statuses[j].Data = nil
		}
		t.Statuses = statuses
		break
	}
	return t
}

// getMaster is GET_MASTER. The master is always the elected leader, since
// it started.
func (op *operator) getMaster() *opapi.Response_GetMaster {
	info := op.m.info
	start := float64(op.m.startTime.UnixNano()) / 1e9
	return &opapi.Response_GetMaster{MasterInfo: &info, StartTime: &start, ElectedTime: &start}
}

// rolesLocked is GET_ROLES: every role that has frameworks, allocations, a
// weight or a quota, by name.
func (m *Master) rolesLocked() []mesos.Role {
	byName := map[string]*mesos.Role{}
	get := func(name string) *mesos.Role {
		r := byName[name]
		if r == nil {
			r = &mesos.Role{Name: name, Weight: 1}
			byName[name] = r
		}
		return r
	}
	for _, ri := range m.alloc.Roles() {
		r := get(ri.Name)
		r.Weight = ri.Weight
		r.Resources = append(r.Resources, ri.Allocated...)
		for _, id := range ri.Frameworks {
			r.Frameworks = append(r.Frameworks, mesos.FrameworkID{Value: id})
		}
	}
	for role, w := range m.alloc.Weights() {
		get(role).Weight = w
	}
	for role := range m.alloc.Quotas() {
		get(role)
	}
	out := make([]mesos.Role, 0, len(byName))
	for _, r := range byName {
		sort.Slice(r.Frameworks, func(i, j int) bool { return r.Frameworks[i].Value < r.Frameworks[j].Value })
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// weightInfosLocked is GET_WEIGHTS: the weights set by flag or operator.
func (m *Master) weightInfosLocked() []mesos.WeightInfo {
	ws := m.alloc.Weights()
	out := make([]mesos.WeightInfo, 0, len(ws))
	for role, w := range ws {
		out = append(out, mesos.WeightInfo{Role: &role, Weight: w})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetRole() < out[j].GetRole() })
	return out
}

// updateWeights is UPDATE_WEIGHTS (and PUT /master/weights): all weights
// are validated first, then applied together. As in Mesos, if a role that
// has frameworks changes weight, every outstanding offer is rescinded so
// that the next allocation honours the new weights.
func (m *Master) updateWeights(infos []mesos.WeightInfo) *wire.Error {
	updates := make(map[string]float64, len(infos))
	for _, wi := range infos {
		role := strings.TrimSpace(wi.GetRole())
		if err := ValidateRole(role); err != nil {
			return wire.Errorf(http.StatusBadRequest, "Failed to validate update weights request JSON: Invalid role '%s': %v", role, err)
		}
		if !(wi.Weight > 0) || math.IsInf(wi.Weight, 0) {
			return wire.Errorf(http.StatusBadRequest,
				"Failed to validate update weights request JSON for role '%s': Invalid weight '%v': Weights must be positive", role, wi.Weight)
		}
		updates[role] = wi.Weight
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	merged := m.alloc.Weights()
	if merged == nil {
		merged = map[string]float64{}
	}
	for role, w := range updates {
		merged[role] = w
	}
	m.alloc.UpdateWeights(merged)
	m.log.Info("operator updated weights", "weights", updates)
	active := false
	for _, fw := range m.frameworks {
		for _, role := range fw.roles {
			if _, ok := updates[role]; ok {
				active = true
			}
		}
	}
	if active {
		for _, o := range m.offers {
			m.rescindOffer(o, true)
		}
	}
	m.requestAllocation()
	return nil
}
