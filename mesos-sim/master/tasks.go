package master

import (
	"bytes"
	"fmt"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// addTask records a valid launched task as TASK_STAGING, and its executor if
// it is new on the agent.
func (m *Master) addTask(fw *framework, ag *agent, ti *mesos.TaskInfo) *task {
	staging := mesos.TASK_STAGING
	t := &task{
		t: mesos.Task{
			Name:        ti.Name,
			TaskID:      ti.TaskID,
			FrameworkID: mesos.FrameworkID{Value: fw.id},
			AgentID:     mesos.AgentID{Value: ag.id},
			State:       &staging,
			Resources:   ti.Resources,
			Labels:      ti.Labels,
			Discovery:   ti.Discovery,
			Container:   ti.Container,
			HealthCheck: ti.HealthCheck,
			KillPolicy:  ti.KillPolicy,
		},
		frameworkID: fw.id,
		agentID:     ag.id,
	}
	user := fw.info.User
	if u := ti.GetCommand().GetUser(); u != "" {
		user = u
	}
	t.t.User = &user
	if ti.Executor != nil {
		execID := ti.Executor.ExecutorID
		t.t.ExecutorID = &execID
		m.addExecutor(fw, ag, ti.Executor)
	}
	fw.tasks[ti.TaskID.Value] = t
	if ag.tasks[fw.id] == nil {
		ag.tasks[fw.id] = map[string]*task{}
	}
	ag.tasks[fw.id][ti.TaskID.Value] = t
	m.metrics.tasksLaunched++
	m.emit(func() Event { return taskAddedEvent(t) })
	return t
}

func (m *Master) addExecutor(fw *framework, ag *agent, exec *mesos.ExecutorInfo) {
	id := exec.ExecutorID.Value
	if fw.executors[ag.id] == nil {
		fw.executors[ag.id] = map[string]*mesos.ExecutorInfo{}
	}
	if fw.executors[ag.id][id] != nil {
		return
	}
	fw.executors[ag.id][id] = exec
	if ag.executors[fw.id] == nil {
		ag.executors[fw.id] = map[string]*mesos.ExecutorInfo{}
	}
	ag.executors[fw.id][id] = exec
}

// removeExecutor forgets an executor and gives its resources back.
func (m *Master) removeExecutor(fw *framework, agentID, execID string) {
	exec := fw.executors[agentID][execID]
	if exec == nil {
		return
	}
	delete(fw.executors[agentID], execID)
	if len(fw.executors[agentID]) == 0 {
		delete(fw.executors, agentID)
	}
	if ag := m.agents[agentID]; ag != nil {
		delete(ag.executors[fw.id], execID)
		if len(ag.executors[fw.id]) == 0 {
			delete(ag.executors, fw.id)
		}
		m.alloc.RecoverResources(fw.id, agentID, exec.Resources, 0, m.clock.Now())
		m.requestAllocation(agentID)
	}
}

// masterStatus builds a status update that the master itself generates: not
// reliable, so it has no uuid.
func (m *Master) masterStatus(t *task, state mesos.TaskState, reason mesos.TaskStatus_Reason, msg string) mesos.TaskStatus {
	return m.newStatus(t.t.TaskID, t.agentID, t.t.ExecutorID, state, reason, msg)
}

func (m *Master) newStatus(taskID mesos.TaskID, agentID string, execID *mesos.ExecutorID, state mesos.TaskState, reason mesos.TaskStatus_Reason, msg string) mesos.TaskStatus {
	src := mesos.SOURCE_MASTER
	ts := float64(m.clock.Now().UnixNano()) / 1e9
	st := mesos.TaskStatus{
		TaskID:     taskID,
		State:      &state,
		Source:     &src,
		Reason:     &reason,
		ExecutorID: execID,
		Timestamp:  &ts,
	}
	if msg != "" {
		st.Message = &msg
	}
	if agentID != "" {
		st.AgentID = &mesos.AgentID{Value: agentID}
	}
	return st
}

// sendTransientStatus tells a framework about a task the master never
// recorded (invalid offers, invalid task).
func (m *Master) sendTransientStatus(fw *framework, ti mesos.TaskInfo, state mesos.TaskState, reason mesos.TaskStatus_Reason, msg string) {
	var execID *mesos.ExecutorID
	if ti.Executor != nil {
		id := ti.Executor.ExecutorID
		execID = &id
	}
	st := m.newStatus(ti.TaskID, ti.AgentID.Value, execID, state, reason, msg)
	m.countState(state)
	m.sendEvent(fw, updateEvent(st))
}

// applyStatus records a status on a task. A transition into a terminal state
// gives the task's resources back to the allocator.
func (m *Master) applyStatus(t *task, st mesos.TaskStatus) {
	prev := t.state()
	state := st.GetState()
	t.t.State = &state
	stored := st
	stored.Data = nil // task data never appears in state output
	if len(t.t.Statuses) == 0 || t.t.Statuses[len(t.t.Statuses)-1].GetState() != state || len(st.UUID) > 0 {
		t.t.Statuses = append(t.t.Statuses, stored)
	}
	if len(st.UUID) > 0 {
		t.t.StatusUpdateState = &state
		t.t.StatusUpdateUUID = st.UUID
	}
	if !isTerminal(prev) && isTerminal(state) {
		m.countState(state)
		if _, registered := m.agents[t.agentID]; registered {
			m.alloc.RecoverResources(t.frameworkID, t.agentID, t.t.Resources, 0, m.clock.Now())
			m.requestAllocation(t.agentID)
		}
	} else if prev != state {
		m.countState(state)
	}
	m.emit(func() Event { return taskUpdatedEvent(t, st) })
}

// removeTask forgets an active task and keeps it among the completed ones.
func (m *Master) removeTask(t *task) {
	fw := m.frameworks[t.frameworkID]
	if fw != nil {
		delete(fw.tasks, t.t.TaskID.Value)
	}
	if ag := m.agents[t.agentID]; ag != nil {
		delete(ag.tasks[t.frameworkID], t.t.TaskID.Value)
		if len(ag.tasks[t.frameworkID]) == 0 {
			delete(ag.tasks, t.frameworkID)
		}
	}
	if fw != nil {
		m.archiveTask(fw, &t.t)
	}
}

func (m *Master) archiveTask(fw *framework, t *mesos.Task) {
	fw.completedTasks = append(fw.completedTasks, t)
	if n := len(fw.completedTasks) - m.cfg.MaxCompletedTasksPerFramework; n > 0 {
		fw.completedTasks = append([]*mesos.Task(nil), fw.completedTasks[n:]...)
	}
}

// makeUnreachable moves a task to the framework's unreachable tasks.
func (m *Master) makeUnreachable(fw *framework, t *task, at time.Time) {
	delete(fw.tasks, t.t.TaskID.Value)
	t.unreachableTime = at
	fw.unreachableTasks[t.t.TaskID.Value] = t
	fw.unreachableOrder = append(fw.unreachableOrder, t.t.TaskID.Value)
	for len(fw.unreachableOrder) > m.cfg.MaxUnreachableTasksPerFramework {
		oldest := fw.unreachableOrder[0]
		fw.unreachableOrder = fw.unreachableOrder[1:]
		if old := fw.unreachableTasks[oldest]; old != nil {
			delete(fw.unreachableTasks, oldest)
			m.archiveTask(fw, &old.t)
		}
	}
}

// StatusUpdate delivers a status update from an agent. Updates with a uuid
// are reliable: the agent resends them until the framework acknowledges.
func (m *Master) StatusUpdate(agentID, frameworkID string, st mesos.TaskStatus) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ag := m.agents[agentID]
	if ag == nil {
		m.metrics.invalidStatusUpdates++
		return fmt.Errorf("agent %s is not registered", agentID)
	}
	fw := m.frameworks[frameworkID]
	if fw == nil {
		m.metrics.invalidStatusUpdates++
		return fmt.Errorf("framework %s is unknown", frameworkID)
	}
	t := ag.tasks[frameworkID][st.TaskID.Value]
	if t == nil {
		m.metrics.invalidStatusUpdates++
		return fmt.Errorf("task %s of framework %s is unknown on agent %s", st.TaskID.Value, frameworkID, agentID)
	}
	st.AgentID = &mesos.AgentID{Value: agentID}
	if st.ExecutorID == nil {
		st.ExecutorID = t.t.ExecutorID
	}
	if st.Timestamp == nil {
		ts := float64(m.clock.Now().UnixNano()) / 1e9
		st.Timestamp = &ts
	}
	if st.Source == nil {
		src := mesos.SOURCE_AGENT
		st.Source = &src
	}
	m.metrics.validStatusUpdates++
	m.applyStatus(t, st)
	m.sendEvent(fw, updateEvent(st))
	return nil
}

// acknowledge is ACKNOWLEDGE: the agent's status stream advances, and a task
// whose terminal update is acknowledged is removed.
func (m *Master) acknowledge(fw *framework, ack *scheduler.Call_Acknowledge) {
	ag := m.agents[ack.AgentID.Value]
	if ag == nil {
		m.metrics.invalidAcks++
		return
	}
	m.metrics.validAcks++
	if t := fw.tasks[ack.TaskID.Value]; t != nil && t.agentID == ag.id &&
		bytes.Equal(t.t.StatusUpdateUUID, ack.UUID) && isTerminal(t.t.GetStatusUpdateState()) {
		m.removeTask(t)
	}
	ag.link.AcknowledgeUpdate(fw.id, ack.TaskID.Value, ack.UUID)
}

// kill is KILL. An unknown task is answered like an explicit reconciliation.
func (m *Master) kill(fw *framework, k *scheduler.Call_Kill) {
	t := fw.tasks[k.TaskID.Value]
	if t == nil {
		var agentID *mesos.AgentID
		if k.AgentID != nil {
			agentID = k.AgentID
		}
		m.reconcile(fw, []scheduler.Call_Reconcile_Task{{TaskID: k.TaskID, AgentID: agentID}})
		return
	}
	if k.AgentID != nil && k.AgentID.Value != t.agentID {
		m.log.Info("ignoring KILL with a mismatched agent", "framework_id", fw.id, "task_id", k.TaskID.Value, "agent_id", k.AgentID.Value)
		return
	}
	policy := k.KillPolicy
	if policy == nil {
		policy = t.t.KillPolicy
	}
	if ag := m.agents[t.agentID]; ag != nil {
		m.log.Debug("killing task", "framework_id", fw.id, "task_id", k.TaskID.Value, "agent_id", t.agentID)
		ag.link.KillTask(fw.id, k.TaskID.Value, policy)
	}
}

func (m *Master) shutdownExecutor(fw *framework, agentID, execID string) {
	if ag := m.agents[agentID]; ag != nil {
		ag.link.ShutdownExecutor(fw.id, execID)
	}
}

func (m *Master) frameworkMessage(fw *framework, msg *scheduler.Call_Message) {
	ag := m.agents[msg.AgentID.Value]
	if ag == nil {
		m.metrics.droppedMessages++
		return
	}
	ag.link.FrameworkMessage(fw.id, msg.ExecutorID.Value, msg.Data)
}

// reconcile is RECONCILE: implicit (no tasks) or explicit, with Mesos'
// six-case table for unknown tasks. Answers carry no uuid.
func (m *Master) reconcile(fw *framework, tasks []scheduler.Call_Reconcile_Task) {
	send := func(st mesos.TaskStatus) {
		st.Message = nil
		st.Data = nil
		m.sendEvent(fw, updateEvent(st))
	}
	known := func(t *task) mesos.TaskStatus {
		// The latest state the agent reported, unless the master itself
		// changed the task since (TASK_UNREACHABLE, TASK_LOST ...).
		state := t.state()
		if s := t.t.StatusUpdateState; s != nil && lastStatusFromAgent(t) {
			state = *s
		}
		st := m.masterStatus(t, state, mesos.REASON_RECONCILIATION, "")
		if !t.unreachableTime.IsZero() {
			st.UnreachableTime = &mesos.TimeInfo{Nanoseconds: t.unreachableTime.UnixNano()}
		}
		return st
	}
	if len(tasks) == 0 {
		for _, t := range fw.tasks {
			send(known(t))
		}
		for _, t := range fw.unreachableTasks {
			send(known(t))
		}
		return
	}
	pa := fw.caps.partitionAware
	for _, rt := range tasks {
		id := rt.TaskID.Value
		agentID := rt.AgentID.GetValue()
		if t := fw.tasks[id]; t != nil && (agentID == "" || agentID == t.agentID) {
			send(known(t))
			continue
		}
		if t := fw.unreachableTasks[id]; t != nil && (agentID == "" || agentID == t.agentID) {
			st := known(t)
			if !pa {
				st.State = mesos.TASK_LOST.Enum()
			}
			send(st)
			continue
		}
		state, reason := mesos.TASK_LOST, mesos.REASON_RECONCILIATION
		var unreachable *mesos.TimeInfo
		switch {
		case agentID != "" && m.agents[agentID] != nil:
			if pa {
				state = mesos.TASK_GONE
			}
		case agentID != "" && !m.unreachableAgents[agentID].IsZero():
			if pa {
				state = mesos.TASK_UNREACHABLE
				unreachable = &mesos.TimeInfo{Nanoseconds: m.unreachableAgents[agentID].UnixNano()}
			}
		case agentID != "" && !m.goneAgents[agentID].IsZero():
			if pa {
				state = mesos.TASK_GONE_BY_OPERATOR
			}
		case pa:
			state = mesos.TASK_UNKNOWN
		}
		st := m.newStatus(rt.TaskID, agentID, nil, state, reason, "")
		st.UnreachableTime = unreachable
		send(st)
	}
}

// ExecutorExited tells the master that an executor ended. Its resources
// return to the allocator and the framework gets a FAILURE event; its tasks'
// terminal updates come from the agent, reliably.
func (m *Master) ExecutorExited(agentID, frameworkID, executorID string, status int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fw := m.frameworks[frameworkID]
	if fw == nil {
		return
	}
	m.removeExecutor(fw, agentID, executorID)
	m.sendEvent(fw, &scheduler.Event{Type: scheduler.Event_FAILURE, Failure: &scheduler.Event_Failure{
		AgentID:    &mesos.AgentID{Value: agentID},
		ExecutorID: &mesos.ExecutorID{Value: executorID},
		Status:     &status,
	}})
}

// ExecutorMessage forwards an executor's message to its framework
// (best effort).
func (m *Master) ExecutorMessage(agentID, frameworkID, executorID string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fw := m.frameworks[frameworkID]
	if fw == nil {
		m.metrics.droppedMessages++
		return
	}
	m.sendEvent(fw, &scheduler.Event{Type: scheduler.Event_MESSAGE, Message: &scheduler.Event_Message{
		AgentID:    mesos.AgentID{Value: agentID},
		ExecutorID: mesos.ExecutorID{Value: executorID},
		Data:       data,
	}})
}

// lastStatusFromAgent reports whether the task's latest status came from its
// agent (reliable, with a uuid) rather than from the master.
func lastStatusFromAgent(t *task) bool {
	n := len(t.t.Statuses)
	return n > 0 && len(t.t.Statuses[n-1].UUID) > 0
}
