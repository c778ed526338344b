package master

import (
	"errors"
	"fmt"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/allocator"
	"github.com/mesos/mesos-go/api/v1/lib/resources"
)

// AgentLink carries the master's messages to one agent. The master calls it
// while holding its lock: implementations must return at once (queue the
// message) and must not call back into the master from inside a call.
type AgentLink interface {
	// RunTasks launches tasks (one, or a whole group).
	RunTasks(RunTasks)
	// KillTask kills a task with the given policy (nil: the task's own).
	KillTask(frameworkID, taskID string, policy *mesos.KillPolicy)
	// ShutdownExecutor asks an executor to shut down.
	ShutdownExecutor(frameworkID, executorID string)
	// ShutdownFramework kills everything of a removed framework.
	ShutdownFramework(frameworkID string)
	// AcknowledgeUpdate passes on a framework's acknowledgement of the status
	// update with the given uuid, so the agent sends the next one.
	AcknowledgeUpdate(frameworkID, taskID string, uuid []byte)
	// FrameworkMessage relays a framework's message to an executor.
	FrameworkMessage(frameworkID, executorID string, data []byte)
	// Ping reports whether the agent answered since the last ping.
	Ping() bool
	// Shutdown tells the agent it was removed for good (marked gone).
	Shutdown(reason string)
}

// RunTasks is a launch: one task, or a task group for one executor.
type RunTasks struct {
	Framework mesos.FrameworkInfo
	Executor  *mesos.ExecutorInfo // nil for a command task
	Tasks     []mesos.TaskInfo
	Group     bool
}

// AgentRegistration is what an agent says when it (re-)registers.
type AgentRegistration struct {
	// Info describes the agent; Info.ID is set when re-registering.
	Info         mesos.AgentInfo
	Capabilities []mesos.AgentInfo_Capability
	// Endpoint is the agent's own HTTP address (host:port), if any.
	Endpoint string
	Version  string
	// Reregister marks a re-registration: Tasks and Executors are then all
	// that runs on the agent, and tasks the master knows there but the agent
	// does not report are gone.
	Reregister bool
	Tasks      []mesos.Task
	Executors  []mesos.ExecutorInfo
}

// ErrAgentGone is returned to an agent that an operator marked gone.
var ErrAgentGone = errors.New("agent has been marked gone")

// RegisterAgent admits an agent and returns its ID. An agent that was
// unreachable comes back with its tasks, whose states are re-sent to their
// frameworks with REASON_AGENT_REREGISTERED.
func (m *Master) RegisterAgent(reg AgentRegistration, link AgentLink) (string, error) {
	if reg.Info.Hostname == "" {
		return "", errors.New("agent info has no hostname")
	}
	if err := validateAgentResources(reg.Info.Resources); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	id := reg.Info.GetID().GetValue()
	if id != "" && !m.goneAgents[id].IsZero() {
		return "", ErrAgentGone
	}
	if old := m.agents[id]; id != "" && old != nil {
		// A registered agent reconnecting: keep its state, take the new link.
		old.link = link
		old.endpoint = reg.Endpoint
		old.reregisteredTime = now
		old.missedPings = 0
		if reg.Reregister {
			m.reconcileKnownAgent(old, reg.Tasks, reg.Executors)
			m.shutdownRemovedFrameworks(link, reg.Tasks, reg.Executors)
		}
		return id, nil
	}
	reregistering := id != ""
	if !reregistering {
		id = fmt.Sprintf("%s-S%d", m.info.ID, m.nextAgent)
		m.nextAgent++
	}
	info := reg.Info
	info.ID = &mesos.AgentID{Value: id}
	ag := &agent{
		id:             id,
		info:           info,
		link:           link,
		endpoint:       reg.Endpoint,
		active:         true,
		caps:           reg.Capabilities,
		version:        reg.Version,
		registeredTime: now,
		tasks:          map[string]map[string]*task{},
		executors:      map[string]map[string]*mesos.ExecutorInfo{},
		offers:         map[string]*offer{},
	}
	if reregistering {
		ag.reregisteredTime = now
	}
	m.agents[id] = ag
	delete(m.unreachableAgents, id)

	used := map[string]mesos.Resources{}
	for i := range reg.Executors {
		exec := reg.Executors[i]
		fw := m.frameworks[exec.FrameworkID.GetValue()]
		if fw == nil {
			continue
		}
		m.addExecutor(fw, ag, &exec)
		used[fw.id] = used[fw.id].Plus(exec.Resources...)
	}
	shutdown := map[string]bool{}
	for i := range reg.Tasks {
		rt := reg.Tasks[i]
		fw := m.frameworks[rt.FrameworkID.Value]
		if fw == nil {
			// The framework was removed while the agent was away.
			if !shutdown[rt.FrameworkID.Value] {
				shutdown[rt.FrameworkID.Value] = true
				link.ShutdownFramework(rt.FrameworkID.Value)
			}
			continue
		}
		taskID := rt.TaskID.Value
		t := fw.unreachableTasks[taskID]
		if t != nil {
			m.forgetUnreachable(fw, taskID)
			t.unreachableTime = time.Time{}
			t.t.State = rt.State
			if len(rt.Statuses) > 0 {
				t.t.Statuses = rt.Statuses
			}
		} else if fw.tasks[taskID] == nil {
			rt.AgentID = mesos.AgentID{Value: id}
			t = &task{t: rt, frameworkID: fw.id}
		} else {
			t = fw.tasks[taskID]
		}
		t.agentID = id
		fw.tasks[taskID] = t
		if ag.tasks[fw.id] == nil {
			ag.tasks[fw.id] = map[string]*task{}
		}
		ag.tasks[fw.id][taskID] = t
		if !isTerminal(t.state()) {
			used[fw.id] = used[fw.id].Plus(t.t.Resources...)
		}
		if reregistering {
			m.sendEvent(fw, updateEvent(m.masterStatus(t, t.state(), mesos.REASON_AGENT_REREGISTERED, "Agent "+id+" re-registered")))
		}
	}
	m.alloc.AddAgent(id, allocator.Agent{
		Hostname:         info.Hostname,
		Total:            info.Resources,
		MultiRole:        hasAgentCap(reg.Capabilities, mesos.AgentInfo_Capability_MULTI_ROLE),
		HierarchicalRole: hasAgentCap(reg.Capabilities, mesos.AgentInfo_Capability_HIERARCHICAL_ROLE),
	}, used)
	m.emit(func() Event { return agentAddedEvent(ag) })
	m.log.Info("agent registered", "agent_id", id, "hostname", info.Hostname, "reregistered", reregistering, "tasks", len(reg.Tasks))
	m.requestAllocation(id)
	return id, nil
}

// reconcileKnownAgent ends the tasks that a re-registering agent no longer
// has (it restarted without them).
func (m *Master) reconcileKnownAgent(ag *agent, reported []mesos.Task, executors []mesos.ExecutorInfo) {
	has := map[string]bool{}
	for _, t := range reported {
		has[t.FrameworkID.Value+"/"+t.TaskID.Value] = true
	}
	for _, e := range executors {
		has[e.FrameworkID.GetValue()+"/executor/"+e.ExecutorID.Value] = true
	}
	for fwID, tasks := range ag.tasks {
		fw := m.frameworks[fwID]
		for id, t := range tasks {
			if has[fwID+"/"+id] || fw == nil {
				continue
			}
			if !isTerminal(t.state()) {
				state := mesos.TASK_GONE
				if !fw.caps.partitionAware {
					state = mesos.TASK_LOST
				}
				st := m.masterStatus(t, state, mesos.REASON_AGENT_RESTARTED, "Agent "+ag.id+" restarted without the task")
				m.applyStatus(t, st)
				m.sendEvent(fw, updateEvent(st))
			}
			m.removeTask(t)
		}
	}
	for fwID, execs := range ag.executors {
		fw := m.frameworks[fwID]
		for execID := range execs {
			if fw != nil && !has[fwID+"/executor/"+execID] {
				m.removeExecutor(fw, ag.id, execID)
			}
		}
	}
}

// shutdownRemovedFrameworks tells a re-registering agent to shut down the
// frameworks of its tasks and executors that the master no longer has
// (removed while the agent was away, or restarted).
func (m *Master) shutdownRemovedFrameworks(link AgentLink, tasks []mesos.Task, executors []mesos.ExecutorInfo) {
	done := map[string]bool{}
	shutdown := func(fwID string) {
		if fwID != "" && m.frameworks[fwID] == nil && !done[fwID] {
			done[fwID] = true
			link.ShutdownFramework(fwID)
		}
	}
	for _, t := range tasks {
		shutdown(t.FrameworkID.Value)
	}
	for _, e := range executors {
		shutdown(e.FrameworkID.GetValue())
	}
}

func hasAgentCap(caps []mesos.AgentInfo_Capability, want mesos.AgentInfo_Capability_Type) bool {
	for _, c := range caps {
		if c.GetType() == want {
			return true
		}
	}
	return false
}

func (m *Master) forgetUnreachable(fw *framework, taskID string) {
	delete(fw.unreachableTasks, taskID)
	for i, id := range fw.unreachableOrder {
		if id == taskID {
			fw.unreachableOrder = append(fw.unreachableOrder[:i], fw.unreachableOrder[i+1:]...)
			break
		}
	}
}

func validateAgentResources(rs []mesos.Resource) error {
	if len(rs) == 0 {
		return errors.New("agent offers no resources")
	}
	if err := resources.Validate(rs...); err != nil {
		return fmt.Errorf("invalid agent resources: %w", err)
	}
	return nil
}

// usedOnAgent sums what a framework's live tasks and executors hold on an
// agent.
func (m *Master) usedOnAgent(fw *framework, ag *agent) mesos.Resources {
	var used mesos.Resources
	for _, t := range ag.tasks[fw.id] {
		if !isTerminal(t.state()) {
			used.Add(t.t.Resources...)
		}
	}
	for _, exec := range ag.executors[fw.id] {
		used.Add(exec.Resources...)
	}
	return used
}

// checkAgentHealth pings every agent; one that misses MaxAgentPingTimeouts
// pings in a row becomes unreachable.
func (m *Master) checkAgentHealth() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ag := range m.agents {
		if ag.link.Ping() {
			ag.missedPings = 0
			continue
		}
		ag.missedPings++
		if ag.missedPings >= m.cfg.MaxAgentPingTimeouts {
			m.log.Warn("agent missed too many pings; marking it unreachable", "agent_id", ag.id, "missed", ag.missedPings)
			m.markUnreachable(ag)
		}
	}
}

// MarkUnreachable makes an agent unreachable at once, as if it had missed
// its pings (fault injection).
func (m *Master) MarkUnreachable(agentID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ag := m.agents[agentID]
	if ag == nil {
		return fmt.Errorf("agent %s is not registered", agentID)
	}
	m.markUnreachable(ag)
	return nil
}

// markUnreachable removes an agent that stopped answering: its tasks become
// TASK_UNREACHABLE (TASK_LOST for frameworks that are not partition aware),
// its offers are rescinded, and every framework gets a FAILURE event.
func (m *Master) markUnreachable(ag *agent) {
	now := m.clock.Now()
	for _, o := range ag.offers {
		m.rescindOffer(o, true)
	}
	for fwID, tasks := range ag.tasks {
		fw := m.frameworks[fwID]
		for _, t := range tasks {
			if fw == nil {
				continue
			}
			if isTerminal(t.state()) {
				m.removeTask(t)
				continue
			}
			state := mesos.TASK_UNREACHABLE
			if !fw.caps.partitionAware {
				state = mesos.TASK_LOST
			}
			st := m.masterStatus(t, state, mesos.REASON_AGENT_REMOVED, "Agent "+ag.id+" is unreachable")
			st.UnreachableTime = &mesos.TimeInfo{Nanoseconds: now.UnixNano()}
			m.applyStatus(t, st)
			m.sendEvent(fw, updateEvent(st))
			m.makeUnreachable(fw, t, now)
		}
	}
	m.dropAgent(ag)
	m.unreachableAgents[ag.id] = now
	m.metrics.agentsUnreachable++
}

// dropAgent forgets a registered agent and tells every framework.
func (m *Master) dropAgent(ag *agent) {
	for fwID, execs := range ag.executors {
		if fw := m.frameworks[fwID]; fw != nil {
			for execID := range execs {
				delete(fw.executors[ag.id], execID)
			}
			delete(fw.executors, ag.id)
		}
	}
	m.alloc.RemoveAgent(ag.id)
	delete(m.agents, ag.id)
	for _, fw := range m.frameworks {
		if fw.connected {
			m.sendEvent(fw, &scheduler.Event{Type: scheduler.Event_FAILURE, Failure: &scheduler.Event_Failure{
				AgentID: &mesos.AgentID{Value: ag.id},
			}})
		}
	}
	m.emit(func() Event { return agentRemovedEvent(ag.id) })
}

// MarkGone removes an agent for good (operator MARK_AGENT_GONE): its tasks
// become TASK_GONE_BY_OPERATOR (TASK_LOST for frameworks that are not
// partition aware) and the agent is told to shut down. The tasks of an
// agent that was unreachable are forgotten without an update.
func (m *Master) MarkGone(agentID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.goneAgents[agentID].IsZero() {
		return nil
	}
	now := m.clock.Now()
	if at := m.unreachableAgents[agentID]; !at.IsZero() {
		// No update is sent for the tasks of an unreachable agent marked
		// gone; they are forgotten, so that a framework reconciling
		// them learns TASK_GONE_BY_OPERATOR (explicit) or nothing
		// (implicit), and the agent can never bring them back.
		for _, fw := range m.frameworks {
			for id, t := range fw.unreachableTasks {
				if t.agentID == agentID {
					m.forgetUnreachable(fw, id)
				}
			}
		}
		delete(m.unreachableAgents, agentID)
		m.goneAgents[agentID] = now
		return nil
	}
	ag := m.agents[agentID]
	if ag == nil {
		return fmt.Errorf("agent %s is unknown", agentID)
	}
	for _, o := range ag.offers {
		m.rescindOffer(o, true)
	}
	for fwID, tasks := range ag.tasks {
		fw := m.frameworks[fwID]
		for _, t := range tasks {
			if fw != nil && !isTerminal(t.state()) {
				state, reason := mesos.TASK_GONE_BY_OPERATOR, mesos.REASON_AGENT_REMOVED_BY_OPERATOR
				if !fw.caps.partitionAware {
					state, reason = mesos.TASK_LOST, mesos.REASON_AGENT_REMOVED
				}
				st := m.masterStatus(t, state, reason, "Agent "+agentID+" was marked gone")
				m.applyStatus(t, st)
				m.sendEvent(fw, updateEvent(st))
			}
			m.removeTask(t)
		}
	}
	ag.link.Shutdown("agent marked gone by operator")
	m.dropAgent(ag)
	m.goneAgents[agentID] = now
	return nil
}

// DeactivateAgent stops offers of an agent (its offers are rescinded); its
// tasks keep running.
func (m *Master) DeactivateAgent(agentID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ag := m.agents[agentID]
	if ag == nil {
		return fmt.Errorf("agent %s is not registered", agentID)
	}
	if !ag.active {
		return nil
	}
	ag.active = false
	m.alloc.DeactivateAgent(agentID)
	for _, o := range ag.offers {
		m.rescindOffer(o, true)
	}
	return nil
}

// ReactivateAgent undoes DeactivateAgent.
func (m *Master) ReactivateAgent(agentID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ag := m.agents[agentID]
	if ag == nil {
		return fmt.Errorf("agent %s is not registered", agentID)
	}
	if ag.active {
		return nil
	}
	ag.active = true
	m.alloc.ActivateAgent(agentID)
	m.requestAllocation(agentID)
	return nil
}
