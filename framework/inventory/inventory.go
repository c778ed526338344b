package inventory

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/master"
)

// Agent is a registered agent as the operator API reports it.
type Agent struct {
	ID, Hostname string
	// Port is the agent's HTTP port.
	Port int32
	// Total is the agent's total resources, reservations included.
	Total []mesos.Resource
}

// Inventory is the set of agents the master has registered. The zero value
// is not usable: use New. It is safe for concurrent use.
type Inventory struct {
	mu     sync.RWMutex
	agents map[string]Agent
	// synced is true once a SUBSCRIBED's state was applied, until the
	// stream ends (Unsynced).
	synced bool
}

// New returns an empty inventory that has not synced.
func New() *Inventory { return &Inventory{agents: map[string]Agent{}} }

// Apply applies one operator API event and returns the agents it added:
// a SUBSCRIBED replaces the whole set with its state's agents (all of them
// are returned), AGENT_ADDED adds one, AGENT_REMOVED (the agent was marked
// unreachable or gone) removes one. Other events change nothing.
func (inv *Inventory) Apply(ev *master.Event) (added []Agent) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	switch ev.GetType() {
	case master.Event_SUBSCRIBED:
		inv.agents = map[string]Agent{}
		for _, a := range ev.GetSubscribed().GetGetState().GetGetAgents().GetAgents() {
			if ag, ok := agentOf(a); ok {
				inv.agents[ag.ID] = ag
				added = append(added, ag)
			}
		}
		inv.synced = true
	case master.Event_AGENT_ADDED:
		if ag, ok := agentOf(ev.GetAgentAdded().GetAgent()); ok {
			inv.agents[ag.ID] = ag
			added = append(added, ag)
		}
	case master.Event_AGENT_REMOVED:
		if r := ev.GetAgentRemoved(); r != nil {
			delete(inv.agents, r.AgentID.Value)
		}
	}
	return added
}

// agentOf reads an operator API agent; one without an ID is ignored.
func agentOf(a master.Response_GetAgents_Agent) (Agent, bool) {
	info := a.GetAgentInfo()
	id := info.GetID().GetValue()
	if id == "" {
		return Agent{}, false
	}
	total := a.GetTotalResources()
	if len(total) == 0 {
		total = info.GetResources()
	}
	return Agent{ID: id, Hostname: info.GetHostname(), Port: info.GetPort(), Total: total}, true
}

// Unsynced records that the stream ended: until the next SUBSCRIBED the
// inventory may miss agents, and decides nothing.
func (inv *Inventory) Unsynced() {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.synced = false
}

// Len is the number of registered agents.
func (inv *Inventory) Len() int {
	inv.mu.RLock()
	defer inv.mu.RUnlock()
	return len(inv.agents)
}

// Agent returns a registered agent.
func (inv *Inventory) Agent(id string) (Agent, bool) {
	inv.mu.RLock()
	defer inv.mu.RUnlock()
	a, ok := inv.agents[id]
	return a, ok
}

// NoAgentHasPorts explains why no registered agent can ever give a task of
// role all of ports (host ports), or returns "" when one can, or when the
// inventory cannot tell: it has not synced, or the master has no agent
// registered (a master that just failed over, or a cluster still starting).
func (inv *Inventory) NoAgentHasPorts(role string, ports []uint32) string {
	if len(ports) == 0 {
		return ""
	}
	inv.mu.RLock()
	defer inv.mu.RUnlock()
	if !inv.synced || len(inv.agents) == 0 {
		return ""
	}
	nowhere := map[uint32]bool{}
	for _, p := range ports {
		nowhere[p] = true
	}
	var ranges []string
	seen := map[string]bool{}
	for _, a := range inv.agents {
		have := usablePorts(a.Total, role)
		all := true
		for _, p := range ports {
			if portIn(p, have) {
				delete(nowhere, p)
			} else {
				all = false
			}
		}
		if all {
			return ""
		}
		for _, r := range have {
			s := fmt.Sprintf("%d-%d", r.Begin, r.End)
			if !seen[s] {
				seen[s] = true
				ranges = append(ranges, s)
			}
		}
	}
	sort.Strings(ranges)
	offered := "no agent has a ports resource for the role"
	if len(ranges) > 0 {
		if len(ranges) > 8 {
			ranges = append(ranges[:8], "…")
		}
		offered = "the agents' ports are " + strings.Join(ranges, ", ")
	}
	if len(nowhere) == 0 {
		return fmt.Sprintf("no single one of the %d registered Mesos agents has all of the host ports %s for role %q (%s)", len(inv.agents), portList(ports), role, offered)
	}
	var missing []uint32
	for _, p := range ports {
		if nowhere[p] {
			missing = append(missing, p)
		}
	}
	what := "host port " + portList(missing) + " is"
	if len(missing) > 1 {
		what = "host ports " + portList(missing) + " are"
	}
	return fmt.Sprintf("%s in no registered Mesos agent's ports resource for role %q (%d agents; %s)", what, role, len(inv.agents), offered)
}

func portList(ports []uint32) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ", ")
}

// usablePorts are the port ranges of rs a task of role can be given:
// unreserved ones and those reserved to role or to one of its ancestors
// (Mesos offers a role what is reserved to its ancestors too).
func usablePorts(rs []mesos.Resource, role string) []mesos.Value_Range {
	var out []mesos.Value_Range
	for _, r := range rs {
		if r.GetName() != "ports" || r.Ranges == nil || !usableBy(r, role) {
			continue
		}
		out = append(out, r.Ranges.Range...)
	}
	return out
}

func usableBy(r mesos.Resource, role string) bool {
	owner := r.GetRole() // pre-refinement reservations ("*" if unreserved)
	if n := len(r.Reservations); n > 0 {
		owner = r.Reservations[n-1].GetRole()
	}
	if owner == "" || owner == "*" {
		return true
	}
	return role == owner || strings.HasPrefix(role, owner+"/")
}

func portIn(p uint32, rs []mesos.Value_Range) bool {
	for _, r := range rs {
		if uint64(p) >= r.Begin && uint64(p) <= r.End {
			return true
		}
	}
	return false
}
