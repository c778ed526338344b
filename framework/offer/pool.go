package offer

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// ExecutorID is the kubemesos executor's ID on every agent, whatever the
// framework's configuration (an upgraded framework adopts running executors).
const ExecutorID = "kubemesos"

// ExecutorResources is what one kubemesos executor costs on its agent.
var ExecutorResources = mesosoffers.Resources{CPUs: 0.1, MemMiB: 64}

// Errors of Reserve and Take, classified for callers.
var (
	// ErrUnknownNode: the node is no agent this pool knows.
	ErrUnknownNode = errors.New("not a Mesos agent of this framework")
	// ErrNoFit: the claim does not fit what the agent offers now.
	ErrNoFit = errors.New("claim does not fit the agent's offers")
	// ErrNoClaim: the pod holds no claim on the node.
	ErrNoClaim = errors.New("pod holds no claim")
)

// Agent is what the pool knows of one agent, from its offers.
type Agent struct {
	ID, Node, Hostname string
	// URL is the agent's HTTP endpoint as offers report it.
	URL        *mesos.URL
	Attributes []mesos.Attribute
	Domain     *mesos.DomainInfo
	// Offered is what the agent offers now (all roles), with what is on its
	// way back to it (see returning.go and declined.go); Used is what our
	// launched tasks hold there.
	Offered, Used mesosoffers.Resources
	// Total is the agent's total resources, all roles, when the master's
	// operator API told them (see Register); zero otherwise.
	Total mesosoffers.Resources
	// Executor is true while an executor of ours runs or is being launched.
	Executor bool
	// Unreachable is true from a TASK_UNREACHABLE on the agent until it
	// offers again or reports a task running.
	Unreachable bool
}

// Namer gives the node name of a newly seen agent.
type Namer func(agentID, hostname string) string

type agent struct {
	Agent
	offers map[string]*held
	claims map[types.UID]mesosoffers.Claim
	tasks  map[types.UID]mesosoffers.Resources
	// returning is, by role, the unused remainder of offers just accepted,
	// on its way back to the master (see returning.go).
	returning map[string]inFlight
	// declined is, by role, what offers declined while pods waited
	// brought, until the master offers it again (see declined.go).
	declined map[string]inFlight
	// available caches Available by role (a few roles: a slice is faster
	// to look through than a map): the scheduler asks for every node in
	// every pod's Filter, far more often than an agent changes. Every
	// change to what it is computed from drops it.
	available []roleAvailable
}

type roleAvailable struct {
	role string
	av   mesosoffers.Available
}

// cachedLocked is the cached Available of role, if there is one.
func (a *agent) cachedLocked(role string) (mesosoffers.Available, bool) {
	for i := range a.available {
		if a.available[i].role == role {
			return a.available[i].av, true
		}
	}
	return mesosoffers.Available{}, false
}

// changedLocked drops a's cached Available after a change to its offers,
// claims, returning remainders or executor.
func (a *agent) changedLocked() { a.available = nil }

type held struct {
	offer mesos.Offer
	role  string
	at    time.Time
}

// Pool holds offers and claims. The zero value is not usable: use NewPool.
type Pool struct {
	// hold is how long an offer no pod claims is kept, holdWaiting how long
	// while pods wait in its role, holdBacklog how long while more pods wait
	// than agents offer to them (see Expired).
	hold, holdWaiting, holdBacklog, returnFor time.Duration
	// lingerFor is how long declined offers count in Offered.
	lingerFor time.Duration
	namer     Namer

	// mu guards everything below; Available, the scheduler's hot path,
	// reads a cached answer under the read lock.
	mu      sync.RWMutex
	agents  map[string]*agent // by agent ID
	nodes   map[string]*agent // by node name
	offers  map[string]*held  // by offer ID
	changed map[string]bool   // agent IDs whose Agent view changed
	// sortedAgents is the keys of agents, sorted (nil: to be sorted again).
	sortedAgents []string
}

// DefaultHoldWaiting is how long an offer no pod claims is kept while pods
// of ours wait in its role (see Expired).
const DefaultHoldWaiting = 30 * time.Second

// DefaultHoldBacklog is how long such an offer is kept while more pods wait
// in its role than agents offer to them (see Expired).
const DefaultHoldBacklog = 5 * time.Minute

// NewPool returns an empty pool that holds unclaimed offers for hold (for
// DefaultHoldWaiting while pods wait in their role) and names agents' nodes
// with namer.
func NewPool(hold time.Duration, namer Namer) *Pool {
	return &Pool{
		hold:        hold,
		holdWaiting: max(hold, DefaultHoldWaiting),
		holdBacklog: DefaultHoldBacklog,
		returnFor:   DefaultReturnWindow,
		namer:       namer,
		agents:      map[string]*agent{},
		nodes:       map[string]*agent{},
		offers:      map[string]*held{},
		changed:     map[string]bool{},
	}
}

// SetHoldWaiting sets how long an offer no pod claims is kept while pods
// wait in its role (never less than the hold).
func (p *Pool) SetHoldWaiting(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holdWaiting = max(d, p.hold)
}

// SetHoldBacklog sets how long an offer that could take a waiting pod is
// kept while more pods wait in its role than agents offer to them (never
// less than the hold while pods wait).
func (p *Pool) SetHoldBacklog(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holdBacklog = d
}

// Add takes offers received at now.
func (p *Pool) Add(now time.Time, offers ...mesos.Offer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range offers {
		a := p.agentLocked(o.AgentID.Value, o.Hostname)
		h := &held{offer: o, role: o.GetAllocationInfo().GetRole(), at: now}
		delete(a.returning, h.role)
		delete(a.declined, h.role)
		a.offers[o.ID.Value] = h
		p.offers[o.ID.Value] = h
		for _, e := range o.ExecutorIDs {
			if e.Value == ExecutorID {
				a.Executor = true
			}
		}
		a.URL, a.Attributes, a.Domain = o.URL, o.Attributes, o.Domain
		a.Unreachable = false
		p.refreshLocked(a)
	}
}

// Register makes an agent the master has registered known, with its total
// resources, whether it offers or not: an agent that registers while the
// framework suppresses offers gets its node (with what our tasks use there
// as allocatable, until it offers). For a known agent it records the total.
// url is the agent's endpoint, until an offer gives it.
func (p *Pool) Register(agentID, hostname string, url *mesos.URL, total mesosoffers.Resources) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.agentLocked(agentID, hostname)
	a.Total = total
	if a.URL == nil {
		a.URL = url
	}
	p.refreshLocked(a)
}

func (p *Pool) agentLocked(id, hostname string) *agent {
	if a, ok := p.agents[id]; ok {
		return a
	}
	a := &agent{
		Agent:     Agent{ID: id, Hostname: hostname, Node: p.namer(id, hostname)},
		offers:    map[string]*held{},
		claims:    map[types.UID]mesosoffers.Claim{},
		tasks:     map[types.UID]mesosoffers.Resources{},
		returning: map[string]inFlight{},
		declined:  map[string]inFlight{},
	}
	p.agents[id] = a
	p.sortedAgents = nil
	p.nodes[a.Node] = a
	return a
}

// refreshLocked recomputes a's Offered and marks it changed. Offered
// counts the remainders of ACCEPTs on their way back to the master, as
// Available does: an ACCEPT takes every offer of its role, and without them
// the node's allocatable would drop to what our pods use until the next
// allocation offers the remainder again, a node write down and one back up
// for every launch, and a node the scheduler's NodeResourcesFit takes for
// full meanwhile.
func (p *Pool) refreshLocked(a *agent) {
	a.changedLocked()
	var all []mesos.Resource
	for _, id := range sortedKeys(a.offers) {
		all = append(all, a.offers[id].offer.Resources...)
	}
	a.Offered = Summarize(all)
	a.Offered = addInFlight(addInFlight(a.Offered, a.returning), a.declined)
	var used mesosoffers.Resources
	for _, r := range a.tasks {
		used = Add(used, r)
	}
	a.Used = used
	p.changed[a.ID] = true
}

// Rescind drops an offer the master rescinded.
func (p *Pool) Rescind(offerID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h, ok := p.offers[offerID]
	if !ok {
		return
	}
	delete(p.offers, offerID)
	if a, ok := p.agents[h.offer.AgentID.Value]; ok {
		delete(a.offers, offerID)
		p.refreshLocked(a)
	}
}

// Clear drops every offer (the subscription ended: the master discards them).
func (p *Pool) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.offers = map[string]*held{}
	for _, a := range p.agents {
		a.offers = map[string]*held{}
		a.returning = map[string]inFlight{}
		a.declined = map[string]inFlight{}
		p.refreshLocked(a)
	}
}

// RemoveAgent forgets an agent that is gone, with its offers and claims, and
// returns its view as it was (ok false if unknown).
func (p *Pool) RemoveAgent(agentID string) (Agent, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.agents[agentID]
	if !ok {
		return Agent{}, false
	}
	for id := range a.offers {
		delete(p.offers, id)
	}
	delete(p.agents, agentID)
	p.sortedAgents = nil
	delete(p.nodes, a.Node)
	delete(p.changed, agentID)
	return a.Agent, true
}

// Reachable records whether an agent can be reached: a TASK_UNREACHABLE
// there makes it unreachable (its offers are dropped), an update from it
// reachable again.
func (p *Pool) Reachable(agentID string, reachable bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.agents[agentID]
	if !ok || a.Unreachable == !reachable {
		return
	}
	a.Unreachable = !reachable
	if !reachable {
		for id := range a.offers {
			delete(p.offers, id)
		}
		a.offers = map[string]*held{}
		a.returning = map[string]inFlight{}
		a.declined = map[string]inFlight{}
	}
	p.refreshLocked(a)
}

// ExecutorGone records that our executor on the agent ended.
func (p *Pool) ExecutorGone(agentID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.agents[agentID]; ok {
		a.Executor = false
		a.changedLocked()
		p.changed[agentID] = true
	}
}

// TaskEnded releases what a launched pod's task held, when it ended.
func (p *Pool) TaskEnded(agentID string, pod types.UID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.agents[agentID]; ok {
		if _, ok := a.tasks[pod]; ok {
			delete(a.tasks, pod)
			p.refreshLocked(a)
		}
	}
}

// TaskRunning records a task of ours found on an agent (after a restart),
// so that the node's allocatable counts it.
func (p *Pool) TaskRunning(agentID string, pod types.UID, r mesosoffers.Resources) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.agents[agentID]; ok {
		a.tasks[pod] = r
		p.refreshLocked(a)
	}
}

// AgentOf returns the agent ID behind a node.
func (p *Pool) AgentOf(node string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.nodes[node]; ok {
		return a.ID, true
	}
	return "", false
}

// Agent returns the view of one agent.
func (p *Pool) Agent(agentID string) (Agent, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.agents[agentID]
	if !ok {
		return Agent{}, false
	}
	return a.Agent, true
}

// Changed returns the agents whose view changed since the last call.
func (p *Pool) Changed() []Agent {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Agent
	for _, id := range sortedKeys(p.changed) {
		if a, ok := p.agents[id]; ok {
			out = append(out, a.Agent)
		}
	}
	p.changed = map[string]bool{}
	return out
}

// Available is what the node's agent offers role now, less the claims on
// it; see mesosoffers.Offers.
func (p *Pool) Available(node, role string) (mesosoffers.Available, bool) {
	p.mu.RLock()
	a, ok := p.nodes[node]
	var av mesosoffers.Available
	cached := false
	if ok {
		av, cached = a.cachedLocked(role)
	}
	p.mu.RUnlock()
	if !ok || cached {
		return av, ok
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok = p.nodes[node]; !ok {
		return mesosoffers.Available{}, false
	}
	return p.availableLocked(a, role), true
}

func (p *Pool) availableLocked(a *agent, role string) mesosoffers.Available {
	if av, ok := a.cachedLocked(role); ok {
		return av
	}
	av := p.computeAvailableLocked(a, role)
	a.available = append(a.available, roleAvailable{role: role, av: av})
	return av
}

func (p *Pool) computeAvailableLocked(a *agent, role string) mesosoffers.Available {
	var offered []mesos.Resource
	for _, id := range sortedKeys(a.offers) {
		if h := a.offers[id]; h.role == role {
			offered = append(offered, h.offer.Resources...)
		}
	}
	free := Summarize(offered)
	if r, ok := a.returning[role]; ok {
		free = Add(free, r.resources)
	}
	for _, c := range a.claims {
		if c.Role == role {
			free = Sub(free, c.Resources)
		}
	}
	out := mesosoffers.Available{Agent: a.ID}
	switch {
	case a.Executor:
	case len(a.claims) == 0:
		out.Executor = ExecutorResources
	case p.executorRoleLocked(a) == role:
		free = Sub(free, ExecutorResources)
	}
	out.Resources = free
	return out
}

// executorRoleLocked is the role whose offers pay for a new executor: the
// role of the first claim (by pod UID) on an agent without an executor.
func (p *Pool) executorRoleLocked(a *agent) string {
	uids := make([]string, 0, len(a.claims))
	for uid := range a.claims {
		uids = append(uids, string(uid))
	}
	sort.Strings(uids)
	if len(uids) == 0 {
		return ""
	}
	return a.claims[types.UID(uids[0])].Role
}

// Reserve claims c on node if it fits what is available.
func (p *Pool) Reserve(node string, c mesosoffers.Claim) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.nodes[node]
	if !ok {
		return fmt.Errorf("node %s: %w", node, ErrUnknownNode)
	}
	if _, dup := a.claims[c.Pod]; dup {
		return nil
	}
	av := p.availableLocked(a, c.Role)
	if fit, short := Fits(Add(c.Resources, av.Executor), av.Resources); !fit {
		return fmt.Errorf("pod %s on node %s (agent %s), role %s: %s: %w", c.Pod, node, a.ID, c.Role, short, ErrNoFit)
	}
	a.claims[c.Pod] = c
	a.changedLocked()
	return nil
}

// Unreserve releases the pod's claim on node, if any.
func (p *Pool) Unreserve(node string, pod types.UID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.nodes[node]; ok {
		delete(a.claims, pod)
		a.changedLocked()
	}
}

// Launch is what one ACCEPT launches from: the offers of one agent and role,
// their resources, and the claims to turn into tasks.
type Launch struct {
	AgentID, Role string
	OfferIDs      []mesos.OfferID
	Resources     []mesos.Resource
	Claims        []mesosoffers.Claim
	// NewExecutor: the executor's resources must come out of Resources too.
	NewExecutor bool
}

// Take removes the claims of pods on node, with every offer of their roles
// on that agent, and returns one Launch per role (sorted by role). Pods
// with no claim on the node are returned in missing. A claim that the
// agent's offers do not cover while the remainder of its last ACCEPT is
// still returning (see returning.go) keeps its claim and is returned in
// waiting: take it again once the agent offers anew. What a Launch leaves
// unused is remembered as returning from now on.
func (p *Pool) Take(now time.Time, node string, pods []types.UID) (launches []Launch, waiting, missing []types.UID, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.nodes[node]
	if !ok {
		return nil, nil, pods, fmt.Errorf("node %s: %w", node, ErrUnknownNode)
	}
	execRole := ""
	if !a.Executor {
		execRole = p.executorRoleLocked(a)
	}
	byRole := map[string][]mesosoffers.Claim{}
	for _, uid := range pods {
		c, ok := a.claims[uid]
		if !ok {
			missing = append(missing, uid)
			continue
		}
		byRole[c.Role] = append(byRole[c.Role], c)
	}
	for _, role := range sortedKeys(byRole) {
		l, wait := p.takeRoleLocked(now, a, role, byRole[role], !a.Executor && (role == execRole || execRole == ""))
		waiting = append(waiting, wait...)
		if l != nil {
			launches = append(launches, *l)
		}
	}
	if !a.Executor && len(launches) > 0 {
		// The executor's role has only waiting claims: the first launch
		// pays for the executor.
		launches[0].NewExecutor = true
		a.Executor = true
	}
	if len(launches) > 0 {
		p.refreshLocked(a)
	}
	return launches, waiting, missing, nil
}

// takeRoleLocked takes the claims of one role that can go out now with every
// offer of that role, and returns the Launch (nil if none) and the pods
// whose claims wait for the returning remainder.
func (p *Pool) takeRoleLocked(now time.Time, a *agent, role string, claims []mesosoffers.Claim, newExecutor bool) (*Launch, []types.UID) {
	var offered []mesos.Resource
	var offerIDs []string
	for _, id := range sortedKeys(a.offers) {
		if h := a.offers[id]; h.role == role {
			offered = append(offered, h.offer.Resources...)
			offerIDs = append(offerIDs, id)
		}
	}
	left := Summarize(offered)
	if newExecutor {
		left = Sub(left, ExecutorResources)
	}
	r, isReturning := a.returning[role]
	isReturning = isReturning && now.Before(r.until)
	l := &Launch{AgentID: a.ID, Role: role}
	var waiting []types.UID
	for _, c := range claims {
		if fit, _ := Fits(c.Resources, left); !fit && isReturning {
			waiting = append(waiting, c.Pod)
			continue
		}
		left = Sub(left, c.Resources)
		l.Claims = append(l.Claims, c)
	}
	if len(l.Claims) == 0 {
		return nil, waiting
	}
	for _, c := range l.Claims {
		delete(a.claims, c.Pod)
		a.tasks[c.Pod] = c.Resources
	}
	for _, id := range offerIDs {
		h := a.offers[id]
		l.OfferIDs = append(l.OfferIDs, h.offer.ID)
		l.Resources = append(l.Resources, h.offer.Resources...)
		delete(a.offers, id)
		delete(p.offers, id)
	}
	if newExecutor {
		l.NewExecutor = true
		a.Executor = true
	}
	if p.returnFor > 0 {
		a.returning[role] = inFlight{resources: left, until: now.Add(p.returnFor)}
	}
	return l, waiting
}

// Decline is a batch of offers of one agent to decline.
type Decline struct {
	AgentID  string
	OfferIDs []mesos.OfferID
}

// Waiting is what the pods that wait in one role need: how many wait, and
// the least cpus and the least memory any of them needs. Backlog is how many
// of them kube-scheduler has not yet found unschedulable: pods that will
// take a node once the scheduler comes to them.
type Waiting struct {
	Pods, Backlog int
	Least         mesosoffers.Resources
}

// Expired removes and returns, at now, the offers held longer than their
// hold on agents and roles no pod claims: the hold, or, for a role in
// which pods wait, the longer hold of SetHoldWaiting if what the agent
// offers the role could take one of them. While pods wait, the scheduler
// may choose any agent for the next one; an offer declined then is refused
// to us for the decline's filter, and its node cannot take a pod
// meanwhile. But an offer too small for any waiting pod (say the memory of
// an agent whose cpus another framework holds) is declined after the
// hold: Mesos' allocator counts held offers as our allocation, and
// holding one that no pod can use raised our share in the allocator's
// eyes, so that cpus freed by other frameworks went to them rather than to
// us, and kubemesos took minutes to reach its weighted share.
//
// While the backlog of a role (Waiting.Backlog) is larger than the number
// of agents whose offers could take one of its pods, every such offer will
// be needed: the scheduler is only slower to come to each agent than the
// longer hold (5,000 agents taking 57 pods a second come round every 88 s).
// Declining them then cost each agent its offer for the decline's filter,
// twice a node write, and the scheduler a third more nodes to filter per
// pod (5,000 agents: 0.41 declines per pod, 17 % fewer pods a second); so
// they are kept for the hold of SetHoldBacklog.
//
// It runs on every tick of the framework's loop, over every agent (5,000
// agents, 4 times a second): it allocates nothing per agent that holds no
// expired offer.
func (p *Pool) Expired(now time.Time, waiting map[string]Waiting) []Decline {
	p.mu.Lock()
	defer p.mu.Unlock()
	agentIDs := p.sortedAgentsLocked()
	// useful are, by agent, the roles in which what it offers could take a
	// waiting pod; offering counts, by role, the agents it is useful for.
	useful := make([][]string, len(agentIDs))
	offering := map[string]int{}
	for i, agentID := range agentIDs {
		a := p.agents[agentID]
		p.expireInFlightLocked(a, now)
		var buf [2]string
		looked := buf[:0]
		for _, h := range a.offers {
			w := waiting[h.role]
			if w.Pods == 0 || slices.Contains(looked, h.role) {
				continue
			}
			looked = append(looked, h.role)
			if fits(w.Least, p.availableLocked(a, h.role)) {
				useful[i] = append(useful[i], h.role)
				offering[h.role]++
			}
		}
	}
	expired := func(a *agent, useful []string, h *held) bool {
		hold := p.hold
		if slices.Contains(useful, h.role) {
			hold = p.holdWaiting
			if waiting[h.role].Backlog > offering[h.role] {
				hold = max(p.holdWaiting, p.holdBacklog)
			}
		}
		return now.Sub(h.at) >= hold && !a.claimsRole(h.role)
	}
	var out []Decline
	for i, agentID := range agentIDs {
		a := p.agents[agentID]
		due := false
		for _, h := range a.offers {
			if due = expired(a, useful[i], h); due {
				break
			}
		}
		if !due {
			continue
		}
		d := Decline{AgentID: agentID}
		for _, id := range sortedKeys(a.offers) {
			if h := a.offers[id]; expired(a, useful[i], h) {
				d.OfferIDs = append(d.OfferIDs, h.offer.ID)
				p.lingerLocked(a, h, now, waiting)
				delete(a.offers, id)
				delete(p.offers, id)
			}
		}
		out = append(out, d)
		p.refreshLocked(a)
	}
	return out
}

// claimsRole reports whether a pod holds a claim of role on a.
func (a *agent) claimsRole(role string) bool {
	for _, c := range a.claims {
		if c.Role == role {
			return true
		}
	}
	return false
}

// sortedAgentsLocked is the agents' IDs, sorted; kept until an agent is
// added or removed.
func (p *Pool) sortedAgentsLocked() []string {
	if p.sortedAgents == nil {
		p.sortedAgents = sortedKeys(p.agents)
	}
	return p.sortedAgents
}

// fits reports whether av has the cpus and memory of need, with the
// executor's own when it has to be started.
func fits(need mesosoffers.Resources, av mesosoffers.Available) bool {
	const eps = 1e-6
	return av.CPUs+eps >= need.CPUs+av.Executor.CPUs && av.MemMiB+eps >= need.MemMiB+av.Executor.MemMiB
}

// Counts reports how many offers are held and claims are open.
func (p *Pool) Counts() (offers, claims int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.agents {
		claims += len(a.claims)
	}
	return len(p.offers), claims
}

// ClaimsByRole counts the claims not launched yet, by role.
func (p *Pool) ClaimsByRole() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for _, a := range p.agents {
		for _, c := range a.claims {
			out[c.Role]++
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
