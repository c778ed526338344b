package allocator

import (
	"sort"
	"strings"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/mesos-sim/resource"
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

	roles     *roleTree
	roleOrder []string              // nil when stale
	fwOrder   map[string][]*fwEntry // per role, kept in DRF order
	infos     map[string]*mesos.Resource_AllocationInfo
}

// fwEntry is a framework's place in a role's DRF order.
type fwEntry struct {
	fw    *frameworkState
	share float64
	count int
}

func (x *fwEntry) less(y *fwEntry) bool {
	if x.share != y.share {
		return x.share < y.share
	}
	if x.count != y.count {
		return x.count < y.count
	}
	return x.fw.id < y.fw.id
}

func (a *Allocator) newCycle(now time.Time) *cycle {
	c := &cycle{a: a, now: now, fwOrder: map[string][]*fwEntry{}, infos: map[string]*mesos.Resource_AllocationInfo{}}
	c.roles = a.newRoleTree()
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
	gpuAgent := c.a.cfg.FilterGPUResources && hasGPUs(ag.Total)
	for _, role := range c.orderedRoles() {
		if len(ag.available) == 0 {
			return
		}
		if guaranteeStage && !c.needyRole(role) {
			continue
		}
		if strings.Contains(role, "/") && !ag.HierarchicalRole {
			continue
		}
		offer := c.offerable(ag, role, guaranteeStage)
		if len(offer) == 0 {
			continue
		}
		for _, e := range c.orderedFrameworks(role) {
			fw := e.fw
			if (fw.MultiRole && !ag.MultiRole) || (gpuAgent && !fw.GPUResources) {
				continue
			}
			if !c.a.allocatable(fw, role, offer) || c.filtered(fw, role, ag.id, offer) {
				continue
			}
			c.allocate(ag, e, role, offer)
			break // coarse-grained: the next role gets what is left
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

// allocate books offer for e's framework in role and records the offer.
func (c *cycle) allocate(ag *agentState, e *fwEntry, role string, offer mesos.Resources) {
	a := c.a
	fw := e.fw
	a.track(ag, fw.id, role, offer)
	if sameSlice(offer, ag.available) {
		ag.setAvailable(nil)
	} else {
		ag.setAvailable(resource.Minus(ag.available, offer...))
	}
	fw.count[role]++
	a.roleCount[role]++
	c.book(role, offer)
	c.roles.allocated(role, offer, a)
	c.roleOrder = nil
	old := *e
	e.share = a.share(a.fwAllocated[fw.id][role])
	e.count = fw.count[role]
	c.reposition(role, e, old)
	out := make(mesos.Resources, len(offer))
	info := c.allocationInfo(role)
	for i := range offer {
		out[i] = offer[i]
		out[i].AllocationInfo = info
	}
	c.out = append(c.out, Allocation{FrameworkID: fw.id, AgentID: ag.id, Role: role, Resources: out})
}

// allocationInfo returns the allocation_info of role, one value shared by
// every resource offered in that role in this cycle (read-only, as all
// offered values are).
func (c *cycle) allocationInfo(role string) *mesos.Resource_AllocationInfo {
	info, ok := c.infos[role]
	if !ok {
		r := role
		info = &mesos.Resource_AllocationInfo{Role: &r}
		c.infos[role] = info
	}
	return info
}

// reposition moves e, whose share just grew from old, to its place
// further down its role's order.
func (c *cycle) reposition(role string, e *fwEntry, old fwEntry) {
	order := c.fwOrder[role]
	i := sort.Search(len(order), func(k int) bool { return !order[k].less(&old) })
	if i == len(order) || order[i] != e {
		return
	}
	rest := order[i+1:]
	j := sort.Search(len(rest), func(k int) bool { return e.less(rest[k]) })
	copy(order[i:i+j], rest[:j])
	order[i+j] = e
}

// offerable returns what the agent can offer role now: reserved resources
// of the role (or its ancestors) and unreserved resources, the latter
// chopped by quota limits, by the unsatisfied guarantee in the guarantee
// stage, and by the headroom held back for other roles' guarantees.
func (c *cycle) offerable(ag *agentState, role string, guaranteeStage bool) mesos.Resources {
	caps := c.unreservedCaps(role, guaranteeStage)
	if len(caps) == 0 && ag.plain && hasScalar(ag.available) {
		return ag.available
	}
	var reserved, unreservedScalars, unreservedOther mesos.Resources
	for _, r := range ag.available {
		if !offerableTo(&r, role) {
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

// offerableTo reports whether r may be offered to role at all.
func offerableTo(r *mesos.Resource, role string) bool {
	return !r.IsRevocable() && r.GetShared() == nil && r.IsAllocatableTo(role)
}

// hasScalar reports whether rs has a scalar resource (an offer of ports
// alone is no offer).
func hasScalar(rs mesos.Resources) bool {
	for i := range rs {
		if rs[i].GetType() == mesos.SCALAR {
			return true
		}
	}
	return false
}

// sameSlice reports whether a and b are the same slice.
func sameSlice(a, b mesos.Resources) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// unreservedCaps are the most of each scalar that role may take from
// unreserved resources now; a name not present is not capped.
func (c *cycle) unreservedCaps(role string, guaranteeStage bool) quantities {
	if c.consumed == nil {
		return nil
	}
	caps := quantities{}
	capAt := func(name string, v float64) {
		if v < 0 {
			v = 0
		}
		if cur, ok := caps[name]; !ok || v < cur {
			caps[name] = v
		}
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
func (a *Allocator) allocatable(fw *frameworkState, role string, offer mesos.Resources) bool {
	sets := a.cfg.MinAllocatable
	if override, ok := fw.MinAllocatable[role]; ok {
		if len(override) == 0 {
			return true
		}
		sets = override
	}
	for _, set := range sets {
		if holds(offer, set) {
			return true
		}
	}
	return false
}

// holds reports whether rs has at least the given scalar quantities.
func holds(rs mesos.Resources, want map[string]float64) bool {
	for name, v := range want {
		have := 0.0
		for i := range rs {
			if rs[i].Name == name && rs[i].GetType() == mesos.SCALAR {
				have += rs[i].GetScalar().GetValue()
			}
		}
		if have+epsilon < v {
			return false
		}
	}
	return true
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
		if !refused && resource.ContainsNormalized(f.resources, offer) {
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

// roleTree is the hierarchy of the roles that can take offers in a cycle,
// with each node's allocation (its own and its descendants').
type roleTree struct {
	candidates map[string]bool
	children   map[string][]string
	subtree    map[string]quantities
	counts     map[string]int
	single     []string // the order when there is just one role
}

func (a *Allocator) newRoleTree() *roleTree {
	t := &roleTree{
		candidates: map[string]bool{},
		children:   map[string][]string{},
		subtree:    map[string]quantities{},
		counts:     map[string]int{},
	}
	for role, fws := range a.roleFrameworks {
		for id := range fws {
			fw := a.frameworks[id]
			if fw != nil && fw.active && !fw.suppressed[role] {
				t.candidates[role] = true
				break
			}
		}
	}
	if len(t.candidates) == 1 && !strings.Contains(sortedKeys(t.candidates)[0], "/") {
		t.single = sortedKeys(t.candidates)
		return t
	}
	nodes := map[string]bool{}
	for _, role := range sortedKeys(t.candidates) {
		for _, r := range ancestorsAndSelf(role) {
			if nodes[r] {
				break
			}
			nodes[r] = true
			t.children[parentOf(r)] = append(t.children[parentOf(r)], r)
		}
	}
	for role, q := range a.roleAllocated {
		for _, r := range ancestorsAndSelf(role) {
			if nodes[r] {
				if t.subtree[r] == nil {
					t.subtree[r] = quantities{}
				}
				t.subtree[r].plus(q)
				t.counts[r] += a.roleCount[role]
			}
		}
	}
	return t
}

// allocated records an allocation to role in its node and its ancestors.
func (t *roleTree) allocated(role string, offer mesos.Resources, a *Allocator) {
	if t.single != nil {
		return
	}
	q := scalarsOf(offer)
	for _, r := range ancestorsAndSelf(role) {
		if t.subtree[r] == nil {
			t.subtree[r] = quantities{}
		}
		t.subtree[r].plus(q)
		t.counts[r]++
	}
}

// orderedRoles lists the roles that can take offers, in hierarchical DRF
// order: siblings by share of their subtree over weight, then by number of
// allocations, then by name; a role that also has children competes with
// them through its own direct allocation.
func (c *cycle) orderedRoles() []string {
	if c.roleOrder != nil {
		return c.roleOrder
	}
	t, a := c.roles, c.a
	if t.single != nil {
		c.roleOrder = t.single
		return t.single
	}
	type entry struct {
		name  string
		self  bool // the role's own allocations, competing with its children
		share float64
		count int
	}
	order := []string{}
	var walk func(parent string)
	walk = func(parent string) {
		var level []entry
		for _, r := range t.children[parent] {
			level = append(level, entry{name: r, share: a.share(t.subtree[r]) / a.weight(r), count: t.counts[r]})
		}
		if parent != "" && t.candidates[parent] && len(t.children[parent]) > 0 {
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
			if e.self || len(t.children[e.name]) == 0 {
				if t.candidates[e.name] {
					order = append(order, e.name)
				}
				continue
			}
			walk(e.name)
		}
	}
	walk("")
	c.roleOrder = order
	return order
}

// orderedFrameworks lists the frameworks that may take offers in role, in
// DRF order of their allocation in that role. The order is built once a
// cycle and kept up to date by allocate.
func (c *cycle) orderedFrameworks(role string) []*fwEntry {
	if order, ok := c.fwOrder[role]; ok {
		return order
	}
	a := c.a
	var order []*fwEntry
	for id := range a.roleFrameworks[role] {
		fw := a.frameworks[id]
		if fw == nil || !fw.active || fw.suppressed[role] {
			continue
		}
		order = append(order, &fwEntry{fw: fw, share: a.share(a.fwAllocated[id][role]), count: fw.count[role]})
	}
	sort.Slice(order, func(i, j int) bool { return order[i].less(order[j]) })
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
