package master

import (
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	opapi "github.com/mesos/mesos-go/api/v1/lib/master"
)

// Event is an operator API event (TASK_ADDED, TASK_UPDATED, FRAMEWORK_*,
// AGENT_*), as the operator SUBSCRIBE stream sends it.
type Event = opapi.Event

// Observe registers f to receive every operator event, under the master's
// lock: f must not block or call the master. It returns a function that
// unregisters f.
func (m *Master) Observe(f func(Event)) (cancel func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := m.nextObserver
	m.nextObserver++
	m.observers[id] = f
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.observers, id)
	}
}

// emit builds an event only when someone observes: building TASK_UPDATED
// for every status update would cost the hot path.
func (m *Master) emit(build func() Event) {
	if len(m.observers) == 0 {
		return
	}
	ev := build()
	for _, f := range m.observers {
		f(ev)
	}
}

func timeInfo(t time.Time) *mesos.TimeInfo {
	if t.IsZero() {
		return nil
	}
	return &mesos.TimeInfo{Nanoseconds: t.UnixNano()}
}

func taskAddedEvent(t *task) Event {
	return Event{Type: opapi.Event_TASK_ADDED, TaskAdded: &opapi.Event_TaskAdded{Task: *clone(&t.t)}}
}

func taskUpdatedEvent(t *task, st mesos.TaskStatus) Event {
	st.Data = nil
	return Event{Type: opapi.Event_TASK_UPDATED, TaskUpdated: &opapi.Event_TaskUpdated{
		FrameworkID: mesos.FrameworkID{Value: t.frameworkID},
		Status:      st,
		State:       t.state().Enum(),
	}}
}

type frameworkEventKind int

const (
	eventFrameworkAdded frameworkEventKind = iota
	eventFrameworkUpdated
	eventFrameworkRemoved
)

// frameworkEvent returns a builder for a FRAMEWORK_* event.
func frameworkEvent(kind frameworkEventKind, fw *framework) func() Event {
	return func() Event {
		switch kind {
		case eventFrameworkAdded:
			return Event{Type: opapi.Event_FRAMEWORK_ADDED, FrameworkAdded: &opapi.Event_FrameworkAdded{Framework: frameworkSummary(fw)}}
		case eventFrameworkUpdated:
			return Event{Type: opapi.Event_FRAMEWORK_UPDATED, FrameworkUpdated: &opapi.Event_FrameworkUpdated{Framework: frameworkSummary(fw)}}
		default:
			return Event{Type: opapi.Event_FRAMEWORK_REMOVED, FrameworkRemoved: &opapi.Event_FrameworkRemoved{FrameworkInfo: fw.info}}
		}
	}
}

// frameworkSummary is a framework as GET_FRAMEWORKS reports it.
func frameworkSummary(fw *framework) opapi.Response_GetFrameworks_Framework {
	out := opapi.Response_GetFrameworks_Framework{
		FrameworkInfo:    fw.info,
		Active:           fw.active,
		Connected:        fw.connected,
		RegisteredTime:   timeInfo(fw.registeredTime),
		ReregisteredTime: timeInfo(fw.reregisteredTime),
		UnregisteredTime: timeInfo(fw.unregisteredTime),
	}
	for _, o := range fw.offers {
		out.Offers = append(out.Offers, offerForFramework(o.o, fw.caps))
		out.OfferedResources = append(out.OfferedResources, o.o.Resources...)
	}
	for _, t := range fw.tasks {
		if !isTerminal(t.state()) {
			out.AllocatedResources = append(out.AllocatedResources, t.t.Resources...)
		}
	}
	return out
}

func agentAddedEvent(ag *agent) Event {
	return Event{Type: opapi.Event_AGENT_ADDED, AgentAdded: &opapi.Event_AgentAdded{Agent: agentSummary(ag)}}
}

func agentRemovedEvent(id string) Event {
	return Event{Type: opapi.Event_AGENT_REMOVED, AgentRemoved: &opapi.Event_AgentRemoved{AgentID: mesos.AgentID{Value: id}}}
}

// agentSummary is an agent as GET_AGENTS reports it.
func agentSummary(ag *agent) opapi.Response_GetAgents_Agent {
	deactivated := !ag.active
	pid := "slave(1)@" + ag.endpoint
	out := opapi.Response_GetAgents_Agent{
		AgentInfo:        ag.info,
		Active:           ag.active,
		Deactivated:      &deactivated,
		Version:          ag.version,
		RegisteredTime:   timeInfo(ag.registeredTime),
		ReregisteredTime: timeInfo(ag.reregisteredTime),
		TotalResources:   ag.info.Resources,
		Capabilities:     ag.caps,
	}
	if ag.endpoint != "" {
		out.PID = &pid
	}
	for _, o := range ag.offers {
		out.OfferedResources = append(out.OfferedResources, o.o.Resources...)
	}
	for _, tasks := range ag.tasks {
		for _, t := range tasks {
			if !isTerminal(t.state()) {
				out.AllocatedResources = append(out.AllocatedResources, t.t.Resources...)
			}
		}
	}
	return out
}
