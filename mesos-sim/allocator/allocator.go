package allocator

import (
	"fmt"
	"math/rand"
	"strings"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/mesos-sim/resource"
)

// DefaultAllocationInterval is Mesos' --allocation_interval.
const DefaultAllocationInterval = time.Second

// Config tunes an Allocator. The zero value behaves like a Mesos master
// started with default flags.
type Config struct {
	// MinAllocatable: an agent's available resources are offered only if
	// they hold at least one of these quantity sets (Mesos
	// --min_allocatable_resources). Nil means {cpus:0.01} or {mem:32}.
	MinAllocatable []map[string]float64
	// FairnessExcludedResourceNames are ignored by DRF share computation.
	FairnessExcludedResourceNames []string
	// AllocationInterval is the lower bound of every refuse filter
	// (MESOS-4302). Zero means DefaultAllocationInterval.
	AllocationInterval time.Duration
	// Seed fixes the agent shuffle: the same seed and the same calls give
	// the same allocations.
	Seed int64
	// FilterGPUResources offers agents with GPUs only to frameworks with
	// the GPU_RESOURCES capability.
	FilterGPUResources bool
}

// Framework is what the allocator needs to know of a framework.
type Framework struct {
	Roles           []string // subscribed roles; a non-MULTI_ROLE framework has one
	SuppressedRoles []string
	MultiRole       bool // capability MULTI_ROLE
	GPUResources    bool // capability GPU_RESOURCES
	// MinAllocatable overrides Config.MinAllocatable per role
	// (FrameworkInfo.offer_filters); an empty list accepts any resources.
	MinAllocatable map[string][]map[string]float64
}

// Agent is what the allocator needs to know of an agent.
type Agent struct {
	Hostname         string
	Total            mesos.Resources
	MultiRole        bool // agent capability MULTI_ROLE
	HierarchicalRole bool // agent capability HIERARCHICAL_ROLE
}

// Quota is a role's quota: guaranteed and maximum scalar quantities.
type Quota struct {
	Guarantees map[string]float64
	Limits     map[string]float64
}

// Allocation is one offer to make: resources of one agent for one
// framework in one role. Resources carry allocation_info.role = Role.
type Allocation struct {
	FrameworkID, AgentID, Role string
	Resources                  mesos.Resources
}

// RoleInfo describes a role for GET_ROLES and /master/roles.
type RoleInfo struct {
	Name       string
	Weight     float64
	Frameworks []string
	Allocated  mesos.Resources // with allocation_info.role = Name
	Quota      *Quota
}

// Stats are the allocator's counters.
type Stats struct {
	AllocationRuns int64 // Allocate calls
	Allocations    int64 // Allocation values returned
	ActiveFilters  int   // refuse filters not yet expired
}

// Allocator is a hierarchical weighted DRF allocator. Create it with New.
type Allocator struct {
	cfg        Config
	rng        *rand.Rand
	excluded   map[string]bool
	agents     map[string]*agentState
	agentOrder []string // sorted agent IDs, nil when stale
	frameworks map[string]*frameworkState
	weights    map[string]float64
	quotas     map[string]Quota

	total          quantities                       // scalars of every agent
	roleAllocated  map[string]quantities            // direct allocations per role
	roleCount      map[string]int                   // allocations made per role (DRF tie-break)
	roleFrameworks map[string]map[string]bool       // subscribed frameworks per role
	fwAllocated    map[string]map[string]quantities // framework -> role -> scalars
	stats          Stats
}

type agentState struct {
	Agent
	id        string
	active    bool
	allocated map[allocKey]mesos.Resources
	available mesos.Resources // total minus allocated; set with setAvailable
	plain     bool            // every available resource is offerable to any role
}

// allocKey names what one framework holds in one role on an agent.
type allocKey struct{ framework, role string }

type frameworkState struct {
	Framework
	id         string
	active     bool
	suppressed map[string]bool
	filters    map[string]map[string][]refuseFilter // role -> agent -> filters
	count      map[string]int                       // allocations per role (tie-break)
}

// refuseFilter refuses any allocation that is a subset of resources until
// it expires.
type refuseFilter struct {
	resources mesos.Resources
	expires   time.Time
}

// New returns an allocator with no agents, frameworks, weights or quotas.
func New(cfg Config) *Allocator {
	if cfg.AllocationInterval <= 0 {
		cfg.AllocationInterval = DefaultAllocationInterval
	}
	if cfg.MinAllocatable == nil {
		cfg.MinAllocatable = []map[string]float64{{"cpus": 0.01}, {"mem": 32}}
	}
	excluded := map[string]bool{}
	for _, name := range cfg.FairnessExcludedResourceNames {
		excluded[name] = true
	}
	return &Allocator{
		cfg:            cfg,
		rng:            rand.New(rand.NewSource(cfg.Seed)),
		excluded:       excluded,
		agents:         map[string]*agentState{},
		frameworks:     map[string]*frameworkState{},
		weights:        map[string]float64{},
		quotas:         map[string]Quota{},
		total:          quantities{},
		roleAllocated:  map[string]quantities{},
		roleCount:      map[string]int{},
		roleFrameworks: map[string]map[string]bool{},
		fwAllocated:    map[string]map[string]quantities{},
	}
}

// AddFramework adds a framework with what it already uses on known agents
// (after a master failover). An inactive framework gets no offers.
func (a *Allocator) AddFramework(id string, fw Framework, used map[string]mesos.Resources, active bool) {
	if _, ok := a.frameworks[id]; ok {
		a.UpdateFramework(id, fw)
		if active {
			a.ActivateFramework(id)
		}
		return
	}
	st := &frameworkState{
		id:      id,
		active:  active,
		filters: map[string]map[string][]refuseFilter{},
		count:   map[string]int{},
	}
	a.frameworks[id] = st
	a.setFramework(st, fw)
	for _, agentID := range sortedKeys(used) {
		if ag := a.agents[agentID]; ag != nil {
			for role, rs := range splitByRole(used[agentID], a.fallbackRole(id)) {
				a.track(ag, id, role, rs)
			}
			ag.refreshAvailable()
		}
	}
}

func (a *Allocator) setFramework(st *frameworkState, fw Framework) {
	for _, role := range st.Roles {
		delete(a.roleFrameworks[role], st.id)
		if len(a.roleFrameworks[role]) == 0 {
			delete(a.roleFrameworks, role)
		}
	}
	st.Framework = fw
	st.suppressed = map[string]bool{}
	for _, role := range fw.SuppressedRoles {
		st.suppressed[role] = true
	}
	for _, role := range fw.Roles {
		if a.roleFrameworks[role] == nil {
			a.roleFrameworks[role] = map[string]bool{}
		}
		a.roleFrameworks[role][st.id] = true
	}
}

// UpdateFramework changes a framework's roles, suppression and
// capabilities. Filters of roles that leave suppression are cleared.
func (a *Allocator) UpdateFramework(id string, fw Framework) {
	st := a.frameworks[id]
	if st == nil {
		return
	}
	wasSuppressed := st.suppressed
	a.setFramework(st, fw)
	for role := range wasSuppressed {
		if !st.suppressed[role] {
			delete(st.filters, role)
		}
	}
	keep := map[string]bool{}
	for _, role := range fw.Roles {
		keep[role] = true
	}
	for role := range st.filters {
		if !keep[role] {
			delete(st.filters, role)
		}
	}
}

// RemoveFramework forgets a framework; whatever it still held is given
// back to its agents.
func (a *Allocator) RemoveFramework(id string) {
	st := a.frameworks[id]
	if st == nil {
		return
	}
	for _, agentID := range a.sortedAgentIDs() {
		ag := a.agents[agentID]
		freed := false
		for key, rs := range ag.allocated {
			if key.framework == id {
				a.untrack(ag, id, key.role, rs)
				freed = true
			}
		}
		if freed {
			ag.refreshAvailable()
		}
	}
	a.setFramework(st, Framework{})
	delete(a.frameworks, id)
	delete(a.fwAllocated, id)
}

// ActivateFramework lets a framework receive offers again.
func (a *Allocator) ActivateFramework(id string) {
	if st := a.frameworks[id]; st != nil {
		st.active = true
	}
}

// DeactivateFramework stops offers to a framework (it disconnected); its
// filters are dropped as in Mesos.
func (a *Allocator) DeactivateFramework(id string) {
	if st := a.frameworks[id]; st != nil {
		st.active = false
		st.filters = map[string]map[string][]refuseFilter{}
	}
}

// AddAgent adds an agent with what frameworks already use on it (after a
// re-registration). Frameworks not known yet are tracked all the same.
func (a *Allocator) AddAgent(id string, ag Agent, used map[string]mesos.Resources) {
	if old := a.agents[id]; old != nil {
		a.RemoveAgent(id)
	}
	st := &agentState{
		Agent:     ag,
		id:        id,
		active:    true,
		allocated: map[allocKey]mesos.Resources{},
	}
	st.Total = unallocated(ag.Total)
	a.agents[id] = st
	a.agentOrder = nil
	a.total.add(st.Total, 1)
	for _, fwID := range sortedKeys(used) {
		for role, rs := range splitByRole(used[fwID], a.fallbackRole(fwID)) {
			a.track(st, fwID, role, rs)
		}
	}
	st.refreshAvailable()
}

// RemoveAgent forgets an agent and every allocation on it.
func (a *Allocator) RemoveAgent(id string) {
	ag := a.agents[id]
	if ag == nil {
		return
	}
	for key, rs := range ag.allocated {
		a.untrack(ag, key.framework, key.role, rs)
	}
	a.total.add(ag.Total, -1)
	delete(a.agents, id)
	a.agentOrder = nil
	for _, fw := range a.frameworks {
		for _, byAgent := range fw.filters {
			delete(byAgent, id)
		}
	}
}

// UpdateAgentTotal replaces an agent's total resources (re-registration
// with other resources) and clears the filters on that agent.
func (a *Allocator) UpdateAgentTotal(id string, total mesos.Resources) {
	ag := a.agents[id]
	if ag == nil {
		return
	}
	a.total.add(ag.Total, -1)
	ag.Total = unallocated(total)
	a.total.add(ag.Total, 1)
	ag.refreshAvailable()
	for _, fw := range a.frameworks {
		for _, byAgent := range fw.filters {
			delete(byAgent, id)
		}
	}
}

// ActivateAgent lets an agent be offered again.
func (a *Allocator) ActivateAgent(id string) {
	if ag := a.agents[id]; ag != nil {
		ag.active = true
	}
}

// DeactivateAgent stops offering an agent (it is unreachable or draining).
func (a *Allocator) DeactivateAgent(id string) {
	if ag := a.agents[id]; ag != nil {
		ag.active = false
	}
}

// RecoverResources gives back resources a framework held on an agent
// (declined or rescinded offers, the unused part of an ACCEPT, finished
// tasks and executors). Only what is really allocated is taken back, so
// giving back twice is harmless. refuse > 0 installs a filter refusing
// any allocation of a subset of res to that framework, role and agent for
// max(refuse, allocation interval).
func (a *Allocator) RecoverResources(frameworkID, agentID string, res mesos.Resources, refuse time.Duration, now time.Time) {
	ag := a.agents[agentID]
	if ag == nil || len(res) == 0 {
		return
	}
	for role, rs := range splitByRole(res, a.fallbackRole(frameworkID)) {
		taken := resource.Intersect(ag.allocated[allocKey{frameworkID, role}], rs)
		a.untrack(ag, frameworkID, role, taken)
		ag.setAvailable(resource.Plus(ag.available, taken...))
		if refuse > 0 {
			if fw := a.frameworks[frameworkID]; fw != nil {
				if refuse < a.cfg.AllocationInterval {
					refuse = a.cfg.AllocationInterval
				}
				if fw.filters[role] == nil {
					fw.filters[role] = map[string][]refuseFilter{}
				}
				fw.filters[role][agentID] = append(fw.filters[role][agentID], refuseFilter{resources: rs, expires: now.Add(refuse)})
			}
		}
	}
}

// UpdateAllocation replaces from with to in a framework's allocation on an
// agent (speculative RESERVE, UNRESERVE, CREATE, DESTROY); the agent's
// total changes the same way.
func (a *Allocator) UpdateAllocation(frameworkID, agentID string, from, to mesos.Resources) error {
	ag := a.agents[agentID]
	if ag == nil {
		return fmt.Errorf("unknown agent %s", agentID)
	}
	fallback := a.fallbackRole(frameworkID)
	fromByRole := splitByRole(from, fallback)
	toByRole := splitByRole(to, fallback)
	for role, rs := range fromByRole {
		if !resource.Contains(ag.allocated[allocKey{frameworkID, role}], rs) {
			return fmt.Errorf("framework %s is not allocated %v on agent %s in role %s", frameworkID, rs, agentID, role)
		}
	}
	a.total.add(ag.Total, -1)
	for role, rs := range fromByRole {
		a.untrack(ag, frameworkID, role, rs)
		ag.Total = resource.Minus(ag.Total, rs...)
	}
	for role, rs := range toByRole {
		a.track(ag, frameworkID, role, rs)
		ag.Total = resource.Plus(ag.Total, rs...)
	}
	a.total.add(ag.Total, 1)
	ag.refreshAvailable()
	return nil
}

// Suppress stops offers to a framework in the given roles (all its roles
// when roles is empty).
func (a *Allocator) Suppress(frameworkID string, roles []string) {
	fw := a.frameworks[frameworkID]
	if fw == nil {
		return
	}
	if len(roles) == 0 {
		roles = fw.Roles
	}
	for _, role := range roles {
		fw.suppressed[role] = true
	}
}

// Revive lifts suppression and clears the refuse filters of a framework in
// the given roles (all its roles when roles is empty).
func (a *Allocator) Revive(frameworkID string, roles []string) {
	fw := a.frameworks[frameworkID]
	if fw == nil {
		return
	}
	if len(roles) == 0 {
		roles = fw.Roles
	}
	for _, role := range roles {
		delete(fw.suppressed, role)
		delete(fw.filters, role)
	}
}

// UpdateWeights replaces the role weights (a role not named weighs 1).
func (a *Allocator) UpdateWeights(w map[string]float64) {
	a.weights = make(map[string]float64, len(w))
	for role, v := range w {
		a.weights[role] = v
	}
}

// Weights returns a copy of the weights set.
func (a *Allocator) Weights() map[string]float64 {
	out := make(map[string]float64, len(a.weights))
	for role, v := range a.weights {
		out[role] = v
	}
	return out
}

func (a *Allocator) weight(role string) float64 {
	if w, ok := a.weights[role]; ok && w > 0 {
		return w
	}
	return 1
}

// UpdateQuota sets a role's quota; both maps empty removes it.
func (a *Allocator) UpdateQuota(role string, limits, guarantees map[string]float64) {
	if len(limits) == 0 && len(guarantees) == 0 {
		delete(a.quotas, role)
		return
	}
	q := Quota{Guarantees: map[string]float64{}, Limits: map[string]float64{}}
	for k, v := range guarantees {
		q.Guarantees[k] = v
	}
	for k, v := range limits {
		q.Limits[k] = v
	}
	a.quotas[role] = q
}

// Quotas returns a copy of every role's quota.
func (a *Allocator) Quotas() map[string]Quota {
	out := make(map[string]Quota, len(a.quotas))
	for role, q := range a.quotas {
		c := Quota{Guarantees: map[string]float64{}, Limits: map[string]float64{}}
		for k, v := range q.Guarantees {
			c.Guarantees[k] = v
		}
		for k, v := range q.Limits {
			c.Limits[k] = v
		}
		out[role] = c
	}
	return out
}

// Roles describes every role that has frameworks or allocations, by name.
func (a *Allocator) Roles() []RoleInfo {
	byName := map[string]*RoleInfo{}
	get := func(name string) *RoleInfo {
		ri := byName[name]
		if ri == nil {
			ri = &RoleInfo{Name: name, Weight: a.weight(name)}
			if q, ok := a.quotas[name]; ok {
				q := q
				ri.Quota = &q
			}
			byName[name] = ri
		}
		return ri
	}
	for role, fws := range a.roleFrameworks {
		get(role).Frameworks = sortedKeys(fws)
	}
	for _, agentID := range a.sortedAgentIDs() {
		for key, rs := range a.agents[agentID].allocated {
			ri := get(key.role)
			for _, r := range rs {
				r.Allocate(key.role)
				ri.Allocated.Add1(r)
			}
		}
	}
	out := make([]RoleInfo, 0, len(byName))
	for _, name := range sortedKeys(byName) {
		out = append(out, *byName[name])
	}
	return out
}

// Stats returns the allocator's counters.
func (a *Allocator) Stats() Stats {
	s := a.stats
	for _, fw := range a.frameworks {
		for _, byAgent := range fw.filters {
			for _, fs := range byAgent {
				s.ActiveFilters += len(fs)
			}
		}
	}
	return s
}

// fallbackRole is the role of resources given back without
// allocation_info: the framework's only (or first) role.
func (a *Allocator) fallbackRole(frameworkID string) string {
	if fw := a.frameworks[frameworkID]; fw != nil && len(fw.Roles) > 0 {
		return fw.Roles[0]
	}
	return "*"
}

func (a *Allocator) sortedAgentIDs() []string {
	if a.agentOrder == nil {
		a.agentOrder = sortedKeys(a.agents)
	}
	return a.agentOrder
}

// track books rs (no allocation_info) as allocated to a framework in a
// role on an agent. The caller refreshes the agent's available resources.
func (a *Allocator) track(ag *agentState, fwID, role string, rs mesos.Resources) {
	if len(rs) == 0 {
		return
	}
	key := allocKey{fwID, role}
	if cur := ag.allocated[key]; len(cur) > 0 {
		ag.allocated[key] = resource.Plus(cur, rs...)
	} else {
		ag.allocated[key] = rs
	}
	a.addShares(fwID, role, rs, 1)
}

// untrack is the inverse of track.
func (a *Allocator) untrack(ag *agentState, fwID, role string, rs mesos.Resources) {
	key := allocKey{fwID, role}
	cur, ok := ag.allocated[key]
	if len(rs) == 0 || !ok {
		return
	}
	if left := resource.Minus(cur, rs...); len(left) == 0 {
		delete(ag.allocated, key)
	} else {
		ag.allocated[key] = left
	}
	a.addShares(fwID, role, rs, -1)
}

func (a *Allocator) addShares(fwID, role string, rs mesos.Resources, sign float64) {
	if a.roleAllocated[role] == nil {
		a.roleAllocated[role] = quantities{}
	}
	a.roleAllocated[role].add(rs, sign)
	if a.fwAllocated[fwID] == nil {
		a.fwAllocated[fwID] = map[string]quantities{}
	}
	if a.fwAllocated[fwID][role] == nil {
		a.fwAllocated[fwID][role] = quantities{}
	}
	a.fwAllocated[fwID][role].add(rs, sign)
}

func (ag *agentState) refreshAvailable() {
	avail := ag.Total
	for _, rs := range ag.allocated {
		avail = resource.Minus(avail, rs...)
	}
	ag.setAvailable(avail)
}

// setAvailable replaces the agent's available resources and notes whether
// they are all plain: unreserved, not revocable, not shared, so offerable
// whole to any role.
func (ag *agentState) setAvailable(rs mesos.Resources) {
	ag.available = rs
	ag.plain = true
	for i := range rs {
		if !rs[i].IsUnreserved() || rs[i].IsRevocable() || rs[i].GetShared() != nil {
			ag.plain = false
			return
		}
	}
}

// ancestorsAndSelf lists role and its ancestors, nearest first.
func ancestorsAndSelf(role string) []string {
	out := []string{role}
	for i := strings.LastIndexByte(role, '/'); i > 0; i = strings.LastIndexByte(role, '/') {
		role = role[:i]
		out = append(out, role)
	}
	return out
}
