package simagent

import (
	"bytes"
	"crypto/rand"
	"strconv"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/internal/clock"
	"github.com/kubemesos/kubemesos/mesos-sim/behavior"
	"github.com/kubemesos/kubemesos/mesos-sim/master"
)

// Agent is one simulated agent. Its AgentLink methods are called by the
// master under its lock; they only queue work for the cluster's driver
// goroutine, which owns the agent's tasks.
type Agent struct {
	cluster *Cluster
	spec    AgentSpec

	mu          sync.Mutex
	id          string
	partitioned bool
	down        bool

	// Owned by the driver goroutine.
	frameworks map[string]*simFramework
}

type simFramework struct {
	info      mesos.FrameworkInfo
	tasks     map[string]*simTask
	executors map[string]*simExecutor
}

// simExecutor is a custom or default executor that the simulation pretends
// to run; command tasks have none.
type simExecutor struct {
	info  *mesos.ExecutorInfo
	tasks map[string]*simTask
	// exitWhenIdle: the DEFAULT executor ends itself when it has no task left.
	exitWhenIdle bool
}

type simTask struct {
	info  mesos.TaskInfo
	fw    *simFramework
	exec  *simExecutor // nil for command tasks
	group []*simTask   // the task's group, itself included (LAUNCH_GROUP)
	state mesos.TaskState

	plan      []behavior.Step
	next      int
	gen       int  // bumped whenever plan is replaced
	waited    bool // the delay of plan[next] has passed
	stepTimer clock.Timer
	killed    bool

	// The reliable status update stream: pending[0] is in flight.
	pending    []mesos.TaskStatus
	retryTimer clock.Timer
	backoff    time.Duration
}

// ID returns the agent's ID.
func (a *Agent) ID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id
}

func (a *Agent) setID(id string) {
	a.mu.Lock()
	a.id = id
	a.mu.Unlock()
}

func (a *Agent) reachable() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.partitioned && !a.down
}

func (a *Agent) registration() master.AgentRegistration {
	port := a.spec.Port
	if port == 0 {
		port = 5051
	}
	info := mesos.AgentInfo{
		Hostname:   a.spec.Hostname,
		Port:       &port,
		Resources:  a.spec.Resources,
		Attributes: a.spec.Attributes,
		Domain:     a.spec.Domain,
	}
	if id := a.ID(); id != "" {
		info.ID = &mesos.AgentID{Value: id}
	}
	return master.AgentRegistration{Info: info, Capabilities: simulatedCapabilities, Version: "1.11.0"}
}

// Ping answers the master's health check unless the agent is partitioned or
// down.
func (a *Agent) Ping() bool { return a.reachable() }

// RunTasks implements master.AgentLink.
func (a *Agent) RunTasks(r master.RunTasks) { a.cluster.do(func() { a.runTasks(r) }) }

// KillTask implements master.AgentLink.
func (a *Agent) KillTask(frameworkID, taskID string, policy *mesos.KillPolicy) {
	a.cluster.do(func() { a.killTask(frameworkID, taskID, policy) })
}

// ShutdownExecutor implements master.AgentLink: the executor kills its tasks
// and exits.
func (a *Agent) ShutdownExecutor(frameworkID, executorID string) {
	a.cluster.do(func() {
		fw := a.frameworks[frameworkID]
		if fw == nil || fw.executors[executorID] == nil {
			return
		}
		exec := fw.executors[executorID]
		for _, t := range exec.tasks {
			a.killNow(t, mesos.REASON_EXECUTOR_TERMINATED, "Executor shut down")
		}
		a.exitExecutor(fw, exec, 0)
	})
}

// ShutdownFramework implements master.AgentLink: everything of the framework
// goes away without further updates (the master has removed it).
func (a *Agent) ShutdownFramework(frameworkID string) {
	a.cluster.do(func() {
		fw := a.frameworks[frameworkID]
		if fw == nil {
			return
		}
		for _, t := range fw.tasks {
			t.stop()
		}
		delete(a.frameworks, frameworkID)
	})
}

// AcknowledgeUpdate implements master.AgentLink.
func (a *Agent) AcknowledgeUpdate(frameworkID, taskID string, uuid []byte) {
	a.cluster.do(func() { a.acknowledge(frameworkID, taskID, uuid) })
}

// FrameworkMessage implements master.AgentLink. A simulated executor echoes
// every message back to its framework, so that the round trip can be tested.
func (a *Agent) FrameworkMessage(frameworkID, executorID string, data []byte) {
	a.cluster.do(func() {
		fw := a.frameworks[frameworkID]
		if fw == nil || !a.reachable() {
			return
		}
		if _, ok := fw.executors[executorID]; !ok {
			if _, ok := fw.tasks[executorID]; !ok { // command executor id = task id
				return
			}
		}
		a.cluster.master.ExecutorMessage(a.ID(), frameworkID, executorID, data)
	})
}

// Shutdown implements master.AgentLink: the agent was marked gone.
func (a *Agent) Shutdown(string) {
	a.mu.Lock()
	a.down = true
	a.mu.Unlock()
	a.cluster.do(a.dropEverything)
}

// Partition cuts the agent off from the master: pings fail and status
// updates wait; tasks go on running.
func (a *Agent) Partition() {
	a.mu.Lock()
	a.partitioned = true
	a.mu.Unlock()
}

// Heal ends a partition: the agent re-registers with its tasks and resends
// what the master has not acknowledged.
func (a *Agent) Heal() error {
	a.mu.Lock()
	a.partitioned = false
	a.mu.Unlock()
	return a.reregister(true)
}

// Kill stops the agent as if its process died: its tasks are gone and it
// stops answering pings.
func (a *Agent) Kill() {
	a.mu.Lock()
	a.down = true
	a.mu.Unlock()
	a.cluster.do(a.dropEverything)
}

// Restart brings a killed agent back with the same ID and no tasks.
func (a *Agent) Restart() error {
	a.mu.Lock()
	a.down = false
	a.mu.Unlock()
	return a.reregister(false)
}

// reregister registers again with the agent's ID, reporting its tasks, and
// resends pending updates. It runs on the driver goroutine so that the task
// list is consistent.
func (a *Agent) reregister(withTasks bool) error {
	errc := make(chan error, 1)
	a.cluster.do(func() {
		reg := a.registration()
		reg.Reregister = true
		if withTasks {
			for _, fw := range a.frameworks {
				for _, t := range fw.tasks {
					reg.Tasks = append(reg.Tasks, t.asTask(a.ID()))
				}
				for _, e := range fw.executors {
					reg.Executors = append(reg.Executors, *e.info)
				}
			}
		}
		if _, err := a.cluster.master.RegisterAgent(reg, a); err != nil {
			errc <- err
			return
		}
		for _, fw := range a.frameworks {
			for _, t := range fw.tasks {
				if len(t.pending) > 0 {
					a.sendHead(t)
				}
			}
		}
		errc <- nil
	})
	return <-errc
}

func (a *Agent) dropEverything() {
	for _, fw := range a.frameworks {
		for _, t := range fw.tasks {
			t.stop()
		}
	}
	a.frameworks = map[string]*simFramework{}
}

func (t *simTask) stop() {
	if t.stepTimer != nil {
		t.stepTimer.Stop()
		t.stepTimer = nil
	}
	if t.retryTimer != nil {
		t.retryTimer.Stop()
		t.retryTimer = nil
	}
}

func (t *simTask) asTask(agentID string) mesos.Task {
	state := t.state
	out := mesos.Task{
		Name:        t.info.Name,
		TaskID:      t.info.TaskID,
		FrameworkID: *t.fw.info.ID,
		AgentID:     mesos.AgentID{Value: agentID},
		State:       &state,
		Resources:   t.info.Resources,
		Labels:      t.info.Labels,
		KillPolicy:  t.info.KillPolicy,
	}
	if t.exec != nil {
		id := t.exec.info.ExecutorID
		out.ExecutorID = &id
	}
	return out
}

func (a *Agent) runTasks(r master.RunTasks) {
	if !a.reachable() && a.isDown() {
		return
	}
	fwID := r.Framework.GetID().GetValue()
	fw := a.frameworks[fwID]
	if fw == nil {
		fw = &simFramework{tasks: map[string]*simTask{}, executors: map[string]*simExecutor{}}
		a.frameworks[fwID] = fw
	}
	fw.info = r.Framework
	var exec *simExecutor
	if r.Executor != nil {
		exec = fw.executors[r.Executor.ExecutorID.Value]
		if exec == nil {
			exec = &simExecutor{
				info:         r.Executor,
				tasks:        map[string]*simTask{},
				exitWhenIdle: r.Executor.Type == mesos.ExecutorInfo_DEFAULT,
			}
			fw.executors[r.Executor.ExecutorID.Value] = exec
		}
	}
	var group []*simTask
	for _, ti := range r.Tasks {
		t := &simTask{info: ti, fw: fw, exec: exec, state: mesos.TASK_STAGING, backoff: a.cluster.cfg.RetryMin}
		fw.tasks[ti.TaskID.Value] = t
		if exec != nil {
			exec.tasks[ti.TaskID.Value] = t
		}
		if r.Group {
			group = append(group, t)
			t.group = group
		}
	}
	for _, ti := range r.Tasks {
		t := fw.tasks[ti.TaskID.Value]
		if r.Group {
			t.group = group
		}
		t.plan = a.cluster.behavior.PlanLaunch(a.behaviorTask(t), a.cluster.rng)
		a.advance(t)
	}
}

func (a *Agent) isDown() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.down
}

func (a *Agent) behaviorTask(t *simTask) behavior.Task {
	bt := behavior.Task{
		Name:          t.info.Name,
		FrameworkName: t.fw.info.Name,
		Labels:        map[string]string{},
		Attributes:    map[string]string{},
	}
	if roles := t.fw.info.Roles; len(roles) > 0 {
		bt.Role = roles[0]
	} else {
		bt.Role = t.fw.info.GetRole()
	}
	for _, l := range t.info.GetLabels().GetLabels() {
		bt.Labels[l.Key] = l.GetValue()
	}
	for _, attr := range a.spec.Attributes {
		switch {
		case attr.Text != nil:
			bt.Attributes[attr.Name] = attr.Text.Value
		case attr.Scalar != nil:
			bt.Attributes[attr.Name] = strconv.FormatFloat(attr.Scalar.Value, 'f', -1, 64)
		}
	}
	return bt
}

// advance applies the task's plan from its next step: steps without delay
// at once, the first delayed one through a timer.
func (a *Agent) advance(t *simTask) {
	for t.next < len(t.plan) {
		s := t.plan[t.next]
		if s.After > 0 && !t.waited {
			gen := t.gen
			t.stepTimer = a.cluster.after(s.After, func() {
				if t.gen != gen {
					return // the plan was replaced (killed) meanwhile
				}
				t.stepTimer = nil
				t.waited = true
				a.advance(t)
			})
			return
		}
		t.waited = false
		t.next++
		a.transition(t, s.State, s.Reason, s.Message, s.Source)
		if isTerminal(s.State) {
			return
		}
	}
}

// transition moves a task to a state and queues the reliable update.
func (a *Agent) transition(t *simTask, state mesos.TaskState, reason *mesos.TaskStatus_Reason, msg string, source mesos.TaskStatus_Source) {
	if isTerminal(t.state) {
		return
	}
	t.state = state
	uuid := make([]byte, 16)
	_, _ = rand.Read(uuid)
	uuid[6] = (uuid[6] & 0x0f) | 0x40
	uuid[8] = (uuid[8] & 0x3f) | 0x80
	ts := float64(a.cluster.clock.Now().UnixNano()) / 1e9
	st := mesos.TaskStatus{
		TaskID:    t.info.TaskID,
		State:     state.Enum(),
		Source:    source.Enum(),
		Reason:    reason,
		UUID:      uuid,
		Timestamp: &ts,
		AgentID:   &mesos.AgentID{Value: a.ID()},
	}
	if msg != "" {
		st.Message = &msg
	}
	if t.exec != nil {
		id := t.exec.info.ExecutorID
		st.ExecutorID = &id
	} else {
		st.ExecutorID = &mesos.ExecutorID{Value: t.info.TaskID.Value}
	}
	t.pending = append(t.pending, st)
	if len(t.pending) == 1 {
		a.sendHead(t)
	}
	if isTerminal(state) {
		if t.stepTimer != nil {
			t.stepTimer.Stop()
			t.stepTimer = nil
		}
		a.onTerminal(t, state)
	}
}

// onTerminal applies group semantics: when a task of a group fails or is
// killed, the default executor kills the rest of the group.
func (a *Agent) onTerminal(t *simTask, state mesos.TaskState) {
	if len(t.group) == 0 || state == mesos.TASK_FINISHED {
		return
	}
	for _, sibling := range t.group {
		if sibling != t && !isTerminal(sibling.state) {
			a.killNow(sibling, mesos.REASON_TASK_KILLED_DURING_LAUNCH, "A task of the group "+groupName(t)+" ended")
		}
	}
}

func groupName(t *simTask) string {
	if t.exec != nil {
		return t.exec.info.ExecutorID.Value
	}
	return t.info.TaskID.Value
}

// killNow ends a task with TASK_KILLED at once.
func (a *Agent) killNow(t *simTask, reason mesos.TaskStatus_Reason, msg string) {
	if isTerminal(t.state) {
		return
	}
	t.killed = true
	if t.stepTimer != nil {
		t.stepTimer.Stop()
		t.stepTimer = nil
	}
	t.plan, t.next = nil, 0
	t.gen++
	var r *mesos.TaskStatus_Reason
	if reason == mesos.REASON_EXECUTOR_TERMINATED {
		r = reason.Enum()
	}
	a.transition(t, mesos.TASK_KILLED, r, msg, mesos.SOURCE_EXECUTOR)
}

func (a *Agent) killTask(frameworkID, taskID string, policy *mesos.KillPolicy) {
	fw := a.frameworks[frameworkID]
	if fw == nil {
		return
	}
	t := fw.tasks[taskID]
	if t == nil || t.killed || isTerminal(t.state) {
		return
	}
	t.killed = true
	if t.stepTimer != nil {
		t.stepTimer.Stop()
		t.stepTimer = nil
	}
	if t.state == mesos.TASK_STAGING {
		// Not yet handed to an executor.
		a.transition(t, mesos.TASK_KILLED, mesos.REASON_TASK_KILLED_DURING_LAUNCH.Enum(), "Killed before delivery to the executor", mesos.SOURCE_AGENT)
		return
	}
	grace := time.Duration(-1)
	if policy == nil {
		policy = t.info.KillPolicy
	}
	if policy != nil && policy.GracePeriod != nil {
		grace = time.Duration(policy.GracePeriod.Nanoseconds)
	}
	killing := false
	for _, c := range fw.info.Capabilities {
		if c.Type == mesos.FrameworkInfo_Capability_TASK_KILLING_STATE {
			killing = true
		}
	}
	t.plan = a.cluster.behavior.PlanKill(a.behaviorTask(t), killing, grace)
	t.next = 0
	t.gen++
	t.waited = false
	a.advance(t)
	for _, sibling := range t.group {
		if sibling != t {
			a.killTask(frameworkID, sibling.info.TaskID.Value, policy)
		}
	}
}

// sendHead delivers the update in flight and arms its retry.
func (a *Agent) sendHead(t *simTask) {
	if len(t.pending) == 0 {
		return
	}
	if t.retryTimer != nil {
		t.retryTimer.Stop()
	}
	if a.reachable() {
		if err := a.cluster.master.StatusUpdate(a.ID(), t.fw.info.GetID().GetValue(), t.pending[0]); err != nil {
			a.cluster.log.Debug("status update not accepted; will retry", "agent_id", a.ID(), "task_id", t.info.TaskID.Value, "error", err)
		}
	}
	wait := t.backoff
	t.backoff = min(t.backoff*2, a.cluster.cfg.RetryMax)
	t.retryTimer = a.cluster.after(wait, func() {
		t.retryTimer = nil
		if t.fw.tasks[t.info.TaskID.Value] == t && len(t.pending) > 0 {
			a.sendHead(t)
		}
	})
}

func (a *Agent) acknowledge(frameworkID, taskID string, uuid []byte) {
	fw := a.frameworks[frameworkID]
	if fw == nil {
		return
	}
	t := fw.tasks[taskID]
	if t == nil || len(t.pending) == 0 || !bytes.Equal(t.pending[0].UUID, uuid) {
		return // duplicate or stale acknowledgement
	}
	t.pending[0] = mesos.TaskStatus{}
	t.pending = t.pending[1:]
	t.backoff = a.cluster.cfg.RetryMin
	if t.retryTimer != nil {
		t.retryTimer.Stop()
		t.retryTimer = nil
	}
	if len(t.pending) > 0 {
		a.sendHead(t)
		return
	}
	if isTerminal(t.state) {
		delete(fw.tasks, taskID)
		if t.exec != nil {
			delete(t.exec.tasks, taskID)
			if t.exec.exitWhenIdle && len(t.exec.tasks) == 0 {
				a.exitExecutor(fw, t.exec, 0)
			}
		}
	}
}

func (a *Agent) exitExecutor(fw *simFramework, exec *simExecutor, status int32) {
	id := exec.info.ExecutorID.Value
	if fw.executors[id] != exec {
		return
	}
	delete(fw.executors, id)
	if a.reachable() {
		a.cluster.master.ExecutorExited(a.ID(), fw.info.GetID().GetValue(), id, status)
	}
}

func isTerminal(s mesos.TaskState) bool {
	switch s {
	case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_ERROR,
		mesos.TASK_LOST, mesos.TASK_DROPPED, mesos.TASK_GONE, mesos.TASK_GONE_BY_OPERATOR:
		return true
	}
	return false
}
