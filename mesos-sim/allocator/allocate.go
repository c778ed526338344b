package allocator

import (
	"sort"
	"strings"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Allocate runs one allocation cycle over the given agents (all agents when
// agentIDs is nil) and returns what to offer: at most one Allocation per
// framework, agent and role. What it returns is booked as allocated; the
// master gives back what it does not offer with RecoverResources.
func (a *Allocator) Allocate(now time.Time, agentIDs []string) []Allocation {
	a.stats.AllocationRuns++
	var ids []string
	if agentIDs == nil {
		agentIDs = a.sortedAgentIDs()
	} else {
		agentIDs = append([]string(nil), agentIDs...)
		sort.Strings(agentIDs)
	}
	for _, id := range agentIDs {
		if ag := a.agents[id]; ag != nil && ag.active {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 || len(a.frameworks) == 0 {
		return nil
	}
	c := a.newCycle(now)
	if len(c.needy) > 0 {
		a.shuffle(ids)
		for _, id := range ids {
			c.allocateAgent(a.agents[id], true)
		}
	}
	a.shuffle(ids)
	for _, id := range ids {
		c.allocateAgent(a.agents[id], false)
	}
	a.stats.Allocations += int64(len(c.out))
	return c.out
}

func (a *Allocator) shuffle(ids []string) {
	a.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
}

// cycle is the state of one Allocate call.
type cycle struct {
	a   *Allocator
	now time.Time
	out []Allocation

	// Quota bookkeeping, only when some role has a quota.
	consumed          map[string]quantities // quota role -> consumed scalars
	needy             map[string]bool       // roles with an unsatisfied guarantee
	requiredHeadroom  quantities            // Σ unsatisfied guarantees
	availableHeadroom quantities            // unreserved unallocated scalars on active agents

	roleOrder []string // nil when stale
	fwOrder   map[string][]string
}

func (a *Allocator) newCycle(now time.Time) *cycle {
	c := &cycle{a: a, now: now, fwOrder: map[string][]string{}}
	if len(a.quotas) == 0 {
		return c
	}
	c.consumed = map[string]quantities{}
	for qrole := range a.quotas {
		c.consumed[qrole] = quantities{}
	}
	addConsumed := func(role string, q quantities) {
		for _, r := range ancestorsAndSelf(role) {
			if cq := c.consumed[r]; cq != nil {
				cq.plus(q)
			}
		}
	}
	for role, q := range a.roleAllocated {
		addConsumed(role, q)
	}
	c.availableHeadroom = quantities{}
	for _, id := range a.sortedAgentIDs() {
		ag := a.agents[id]
		for i := range ag.available {
			r := &ag.available[i]
			if r.GetType() != mesos.SCALAR {
				continue
			}
			if r.IsUnreserved() {
				if ag.active && !r.IsRevocable() {
					c.availableHeadroom[r.Name] += r.GetScalar().GetValue()
				}
			} else {
				addConsumed(r.ReservationRole(), quantities{r.Name: r.GetScalar().GetValue()})
			}
		}
	}
	c.refreshHeadroom()
	return c
}

// refreshHeadroom recomputes which roles still need their guarantee and
// how much unreserved capacity must be held back for them.
func (c *cycle) refreshHeadroom() {
	c.needy = map[string]bool{}
	c.requiredHeadroom = quantities{}
	for role, q := range c.a.quotas {
		for name, g := range q.Guarantees {
			if missing := g - c.consumed[role][name]; missing > epsilon {
				c.needy[role] = true
				c.requiredHeadroom[name] += missing
			}
		}
	}
}

// allocateAgent offers an agent's available resources to roles and
// frameworks in DRF order. In the guarantee stage only roles with an
// unsatisfied quota guarantee take part.
func (c *cycle) allocateAgent(ag *agentState, guaranteeStage bool) {
	if len(ag.available) == 0 {
		return
	}
	for _, role := range c.orderedRoles() {
		if guaranteeStage && !c.needyRole(role) {
			continue
		}
		for _, fwID := range c.orderedFrameworks(role) {
			if len(ag.available) == 0 {
				return
			}
			if c.tryAllocate(ag, c.a.frameworks[fwID], role, guaranteeStage) {
				break // coarse-grained: the next role gets what is left
			}
		}
	}
}

func (c *cycle) needyRole(role string) bool {
	for _, r := range ancestorsAndSelf(role) {
		if c.needy[r] {
			return true
		}
	}
	return false
}

// tryAllocate offers what the agent has for role to fw, if fw may take it.
func (c *cycle) tryAllocate(ag *agentState, fw *frameworkState, role string, guaranteeStage bool) bool {
	a := c.a
	if fw.MultiRole && !ag.MultiRole {
		return false
	}
	if strings.Contains(role, "/") && !ag.HierarchicalRole {
		return false
	}
	if a.cfg.FilterGPUResources && !fw.GPUResources && hasGPUs(ag.Total) {
		return false
	}
	offer := c.offerable(ag, role, guaranteeStage)
	if len(offer) == 0 {
		return false
	}
	scalars := scalarsOf(offer)
	if !a.allocatable(fw, role, scalars) {
		return false
	}
	if c.filtered(fw, role, ag.id, offer) {
		return false
	}
	a.track(ag, fw.id, role, offer)
	ag.available = ag.available.Minus(offer...)
	fw.count[role]++
	a.roleCount[role]++
	c.book(role, offer)
	c.roleOrder = nil
	delete(c.fwOrder, role)
	out := offer.Clone().Allocate(role)
	c.out = append(c.out, Allocation{FrameworkID: fw.id, AgentID: ag.id, Role: role, Resources: out})
	return true
}

// offerable returns what the agent can offer role now: reserved resources
// of the role (or its ancestors) and unreserved resources, the latter
// chopped by quota limits, by the unsatisfied guarantee in the guarantee
// stage, and by the headroom held back for other roles' guarantees.
func (c *cycle) offerable(ag *agentState, role string, guaranteeStage bool) mesos.Resources {
	caps := c.unreservedCaps(role, guaranteeStage)
	var reserved, unreservedScalars, unreservedOther mesos.Resources
	for _, r := range ag.available {
		if r.IsRevocable() || r.GetShared() != nil || !r.IsAllocatableTo(role) {
			continue
		}
		if !r.IsUnreserved() {
			reserved = append(reserved, r)
			continue
		}
		if r.GetType() != mesos.SCALAR {
			unreservedOther = append(unreservedOther, r)
			continue
		}
		v := r.GetScalar().GetValue()
		if limit, ok := caps[r.Name]; ok {
			if limit < v {
				v = limit
			}
			caps[r.Name] = limit - v
		}
		if v <= epsilon {
			continue
		}
		if v != r.GetScalar().GetValue() {
			r.Scalar = &mesos.Value_Scalar{Value: v}
		}
		unreservedScalars = append(unreservedScalars, r)
	}
	if len(unreservedScalars) == 0 && len(reserved) == 0 {
		return nil
	}
	out := append(reserved, unreservedScalars...)
	return append(out, unreservedOther...)
}

// unreservedCaps are the most of each scalar that role may take from
// unreserved resources now; a name not present is not capped.
func (c *cycle) unreservedCaps(role string, guaranteeStage bool) quantities {
	caps := quantities{}
	capAt := func(name string, v float64) {
		if v < 0 {
			v = 0
		}
		if cur, ok := caps[name]; !ok || v < cur {
			caps[name] = v
		}
	}
	if c.consumed == nil {
		return caps
	}
	for _, r := range ancestorsAndSelf(role) {
		q, ok := c.a.quotas[r]
		if !ok {
			continue
		}
		for name, limit := range q.Limits {
			capAt(name, limit-c.consumed[r][name])
		}
		if guaranteeStage {
			for name, g := range q.Guarantees {
				capAt(name, g-c.consumed[r][name])
			}
		}
	}
	// Headroom: what is not needed for this role's own guarantee must
	// leave enough unreserved capacity for everyone else's.
	own := quantities{}
	if guaranteeStage {
		for _, r := range ancestorsAndSelf(role) {
			if q, ok := c.a.quotas[r]; ok {
				for name, g := range q.Guarantees {
					if missing := g - c.consumed[r][name]; missing > own[name] {
						own[name] = missing
					}
				}
			}
		}
	}
	for name, need := range c.requiredHeadroom {
		spare := c.availableHeadroom[name] - need
		if o := own[name]; o > 0 {
			capAt(name, o+max(spare, 0))
			continue
		}
		capAt(name, spare)
	}
	return caps
}

// book updates the quota bookkeeping after role was allocated offer.
func (c *cycle) book(role string, offer mesos.Resources) {
	if c.consumed == nil {
		return
	}
	unreserved := quantities{}
	for i := range offer {
		if offer[i].IsUnreserved() && offer[i].GetType() == mesos.SCALAR {
			unreserved[offer[i].Name] += offer[i].GetScalar().GetValue()
		}
	}
	for name, v := range unreserved {
		c.availableHeadroom[name] -= v
	}
	for _, r := range ancestorsAndSelf(role) {
		if cq := c.consumed[r]; cq != nil {
			cq.plus(unreserved)
		}
	}
	c.refreshHeadroom()
}

// allocatable applies the min-allocatable rule: the offer must hold at
// least one of the configured quantity sets.
func (a *Allocator) allocatable(fw *frameworkState, role string, q quantities) bool {
	sets := a.cfg.MinAllocatable
	if override, ok := fw.MinAllocatable[role]; ok {
		if len(override) == 0 {
			return true
		}
		sets = override
	}
	for _, set := range sets {
		if q.containsAll(set) {
			return true
		}
	}
	return false
}

// filtered reports whether a live refuse filter covers the offer.
func (c *cycle) filtered(fw *frameworkState, role, agentID string, offer mesos.Resources) bool {
	fs := fw.filters[role][agentID]
	if len(fs) == 0 {
		return false
	}
	live := fs[:0]
	refused := false
	for _, f := range fs {
		if !c.now.Before(f.expires) {
			continue
		}
		live = append(live, f)
		if !refused && containsAll(f.resources, offer) {
			refused = true
		}
	}
	if len(live) == 0 {
		delete(fw.filters[role], agentID)
	} else {
		fw.filters[role][agentID] = live
	}
	return refused
}

// orderedRoles lists the roles that can take offers, in hierarchical DRF
// order: siblings by share of their subtree over weight, then by number of
// allocations, then by name; a role that also has children competes with
// them through its own direct allocation.
func (c *cycle) orderedRoles() []string {
	if c.roleOrder != nil {
		return c.roleOrder
	}
	a := c.a
	candidates := map[string]bool{}
	for role, fws := range a.roleFrameworks {
		for id := range fws {
			fw := a.frameworks[id]
			if fw != nil && fw.active && !fw.suppressed[role] {
				candidates[role] = true
				break
			}
		}
	}
	children := map[string][]string{}
	nodes := map[string]bool{}
	for role := range candidates {
		for _, r := range ancestorsAndSelf(role) {
			if nodes[r] {
				break
			}
			nodes[r] = true
			children[parentOf(r)] = append(children[parentOf(r)], r)
		}
	}
	subtree := map[string]quantities{}
	counts := map[string]int{}
	for role, q := range a.roleAllocated {
		for _, r := range ancestorsAndSelf(role) {
			if nodes[r] {
				if subtree[r] == nil {
					subtree[r] = quantities{}
				}
				subtree[r].plus(q)
				counts[r] += a.roleCount[role]
			}
		}
	}
	type entry struct {
		name  string
		self  bool // the role's own allocations, competing with its children
		share float64
		count int
	}
	var order []string
	var walk func(parent string)
	walk = func(parent string) {
		var level []entry
		for _, r := range children[parent] {
			level = append(level, entry{name: r, share: a.share(subtree[r]) / a.weight(r), count: counts[r]})
		}
		if parent != "" && candidates[parent] && len(children[parent]) > 0 {
			level = append(level, entry{name: parent, self: true, share: a.share(a.roleAllocated[parent]) / a.weight(parent), count: a.roleCount[parent]})
		}
		sort.Slice(level, func(i, j int) bool {
			x, y := level[i], level[j]
			if x.share != y.share {
				return x.share < y.share
			}
			if x.count != y.count {
				return x.count < y.count
			}
			return x.name < y.name
		})
		for _, e := range level {
			if e.self || len(children[e.name]) == 0 {
				if candidates[e.name] {
					order = append(order, e.name)
				}
				continue
			}
			walk(e.name)
		}
	}
	walk("")
	if order == nil {
		order = []string{}
	}
	c.roleOrder = order
	return order
}

// orderedFrameworks lists the frameworks that may take offers in role, in
// DRF order of their allocation in that role.
func (c *cycle) orderedFrameworks(role string) []string {
	if order, ok := c.fwOrder[role]; ok {
		return order
	}
	a := c.a
	type entry struct {
		id    string
		share float64
		count int
	}
	var level []entry
	for id := range a.roleFrameworks[role] {
		fw := a.frameworks[id]
		if fw == nil || !fw.active || fw.suppressed[role] {
			continue
		}
		level = append(level, entry{id: id, share: a.share(a.fwAllocated[id][role]), count: fw.count[role]})
	}
	sort.Slice(level, func(i, j int) bool {
		x, y := level[i], level[j]
		if x.share != y.share {
			return x.share < y.share
		}
		if x.count != y.count {
			return x.count < y.count
		}
		return x.id < y.id
	})
	order := make([]string, len(level))
	for i, e := range level {
		order[i] = e.id
	}
	c.fwOrder[role] = order
	return order
}

// share is the dominant share of an allocation: the largest fraction of
// the cluster's total of any scalar resource not excluded from fairness.
func (a *Allocator) share(q quantities) float64 {
	best := 0.0
	for name, v := range q {
		if a.excluded[name] {
			continue
		}
		if total := a.total[name]; total > 0 && v > 0 {
			if s := v / total; s > best {
				best = s
			}
		}
	}
	return best
}

func parentOf(role string) string {
	if i := strings.LastIndexByte(role, '/'); i > 0 {
		return role[:i]
	}
	return ""
}

func hasGPUs(rs mesos.Resources) bool {
	for i := range rs {
		if rs[i].Name == "gpus" && rs[i].GetScalar().GetValue() > 0 {
			return true
		}
	}
	return false
}

// containsAll reports whether have holds every resource of want.
func containsAll(have, want mesos.Resources) bool {
	left := have.Clone()
	for _, w := range want {
		found := false
		for i := range left {
			if left[i].Contains(w) {
				left.Subtract1(w)
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
