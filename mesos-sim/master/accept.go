package master

import (
	"errors"
	"fmt"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/resource"
)

// refuseDuration turns Filters into the refuse time of an offer filter:
// absent or negative means the default 5 s, anything over a year is capped.
func refuseDuration(f *mesos.Filters) time.Duration {
	s := DefaultRefuseSeconds
	if f != nil && f.RefuseSeconds != nil && *f.RefuseSeconds >= 0 {
		s = *f.RefuseSeconds
	}
	if s > MaxRefuseSeconds {
		s = MaxRefuseSeconds
	}
	return time.Duration(s * float64(time.Second))
}

// decline gives offers back with a refuse filter. Unknown offers are ignored.
func (m *Master) decline(fw *framework, ids []mesos.OfferID, f *mesos.Filters) {
	refuse := refuseDuration(f)
	for _, id := range ids {
		o := fw.offers[id.Value]
		if o == nil {
			continue
		}
		m.removeOffer(o)
		m.metrics.offersDeclined++
		m.alloc.RecoverResources(fw.id, o.agentID, o.o.Resources, refuse, m.clock.Now())
	}
}

// validateOffers is Mesos' validation::offer: every offer outstanding, owned
// by the framework, no duplicates, one agent, one role.
func (m *Master) validateOffers(fw *framework, ids []mesos.OfferID) ([]*offer, error) {
	if len(ids) == 0 {
		return nil, errors.New("no offer IDs given")
	}
	var valid []*offer
	var firstErr error
	seen := map[string]bool{}
	fail := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	for _, id := range ids {
		if seen[id.Value] {
			fail(fmt.Errorf("duplicate offer %s in accept", id.Value))
			continue
		}
		seen[id.Value] = true
		o := m.offers[id.Value]
		if o == nil {
			fail(fmt.Errorf("offer %s is no longer valid", id.Value))
			continue
		}
		if o.frameworkID != fw.id {
			fail(fmt.Errorf("offer %s has invalid framework %s while framework %s is expected", id.Value, o.frameworkID, fw.id))
			continue
		}
		valid = append(valid, o)
	}
	for _, o := range valid {
		if o.agentID != valid[0].agentID {
			fail(fmt.Errorf("aggregated offers must belong to one single agent: offer %s uses agent %s and offer %s uses agent %s",
				valid[0].o.ID.Value, valid[0].agentID, o.o.ID.Value, o.agentID))
		}
		if o.role != valid[0].role {
			fail(fmt.Errorf("aggregated offers must be allocated to the same role: offer %s uses role %s and offer %s uses role %s",
				valid[0].o.ID.Value, valid[0].role, o.o.ID.Value, o.role))
		}
	}
	return valid, firstErr
}

// accept is ACCEPT: operations are applied in order against the sum of the
// offers; what they leave over is declined with the call's filters.
func (m *Master) accept(fw *framework, a *scheduler.Call_Accept) {
	now := m.clock.Now()
	offers, err := m.validateOffers(fw, a.OfferIDs)
	if err == nil && m.agents[offers[0].agentID] == nil {
		err = fmt.Errorf("agent %s is not registered", offers[0].agentID)
	}
	if err != nil {
		m.log.Info("invalid ACCEPT", "framework_id", fw.id, "error", err)
		for _, o := range offers {
			m.rescindOffer(o, false)
		}
		reason := mesos.REASON_INVALID_OFFERS
		for _, op := range a.Operations {
			for _, ti := range launchedTaskInfos(&op) {
				m.sendTransientStatus(fw, ti, lostOrDropped(fw), reason, "Task launched with invalid offers: "+err.Error())
			}
		}
		return
	}
	ag := m.agents[offers[0].agentID]
	role := offers[0].role
	var offered mesos.Resources
	for _, o := range offers {
		offered.Add(o.o.Resources...)
		m.removeOffer(o)
	}
	m.metrics.offersAccepted += uint64(len(offers))
	remaining := offered
	for i := range a.Operations {
		op := &a.Operations[i]
		if op.ID != nil {
			// No agent of mesos-sim has AGENT_OPERATION_FEEDBACK: as in
			// Mesos, launches with an id fail their tasks and any other
			// operation is dropped with OPERATION_ERROR.
			m.refuseOperationID(fw, op)
			continue
		}
		switch op.Type {
		case mesos.Offer_Operation_LAUNCH:
			remaining = m.launch(fw, ag, role, op.Launch.GetTaskInfos(), remaining)
		case mesos.Offer_Operation_LAUNCH_GROUP:
			if lg := op.LaunchGroup; lg != nil {
				remaining = m.launchGroup(fw, ag, role, &lg.Executor, lg.TaskGroup.Tasks, remaining)
			}
		case mesos.Offer_Operation_RESERVE, mesos.Offer_Operation_UNRESERVE,
			mesos.Offer_Operation_CREATE, mesos.Offer_Operation_DESTROY:
			next, err := m.applySpeculative(fw, ag, role, op, remaining)
			if err != nil {
				m.log.Info("dropping invalid offer operation", "framework_id", fw.id, "type", op.Type, "error", err)
				continue
			}
			remaining = next
		default:
			m.log.Info("dropping unsupported offer operation", "framework_id", fw.id, "type", op.Type)
		}
	}
	if len(remaining) > 0 {
		m.alloc.RecoverResources(fw.id, ag.id, remaining, refuseDuration(a.Filters), now)
	}
}

func launchedTaskInfos(op *mesos.Offer_Operation) []mesos.TaskInfo {
	switch op.Type {
	case mesos.Offer_Operation_LAUNCH:
		return op.Launch.GetTaskInfos()
	case mesos.Offer_Operation_LAUNCH_GROUP:
		if op.LaunchGroup != nil {
			return op.LaunchGroup.TaskGroup.Tasks
		}
	}
	return nil
}

func lostOrDropped(fw *framework) mesos.TaskState {
	if fw.caps.partitionAware {
		return mesos.TASK_DROPPED
	}
	return mesos.TASK_LOST
}

// withAllocation injects the offer's role into resources that lack it, as
// Mesos does for every operation of an ACCEPT.
func withAllocation(rs []mesos.Resource, role string) mesos.Resources {
	out := make(mesos.Resources, len(rs))
	for i, r := range rs {
		if r.AllocationInfo == nil {
			r.Allocate(role)
		}
		out[i] = r
	}
	return out
}

// launch runs LAUNCH; each task is validated against what is left.
func (m *Master) launch(fw *framework, ag *agent, role string, infos []mesos.TaskInfo, remaining mesos.Resources) mesos.Resources {
	for i := range infos {
		ti := clone(&infos[i])
		ti.Resources = withAllocation(ti.Resources, role)
		if ti.Executor != nil {
			ti.Executor.Resources = withAllocation(ti.Executor.Resources, role)
			if ti.Executor.FrameworkID == nil {
				ti.Executor.FrameworkID = &mesos.FrameworkID{Value: fw.id}
			}
		}
		need, err := m.validateTask(fw, ag, ti, remaining)
		if err != nil {
			m.sendTransientStatus(fw, *ti, mesos.TASK_ERROR, mesos.REASON_TASK_INVALID, err.Error())
			continue
		}
		remaining = resource.Minus(remaining, need...)
		m.addTask(fw, ag, ti)
		ag.link.RunTasks(RunTasks{Framework: fw.info, Executor: ti.Executor, Tasks: []mesos.TaskInfo{*ti}})
	}
	return remaining
}

// launchGroup runs LAUNCH_GROUP: the group is valid and launched as a whole,
// or every task gets TASK_ERROR.
func (m *Master) launchGroup(fw *framework, ag *agent, role string, exec *mesos.ExecutorInfo, infos []mesos.TaskInfo, remaining mesos.Resources) mesos.Resources {
	exec = clone(exec)
	exec.Resources = withAllocation(exec.Resources, role)
	if exec.FrameworkID == nil {
		exec.FrameworkID = &mesos.FrameworkID{Value: fw.id}
	}
	tasks := make([]mesos.TaskInfo, len(infos))
	for i := range infos {
		ti := clone(&infos[i])
		ti.Resources = withAllocation(ti.Resources, role)
		ti.Executor = exec
		tasks[i] = *ti
	}
	need, err := m.validateGroup(fw, ag, exec, infos, tasks, remaining)
	if err != nil {
		for _, ti := range tasks {
			m.sendTransientStatus(fw, ti, mesos.TASK_ERROR, mesos.REASON_TASK_GROUP_INVALID, err.Error())
		}
		return remaining
	}
	for i := range tasks {
		m.addTask(fw, ag, &tasks[i])
	}
	ag.link.RunTasks(RunTasks{Framework: fw.info, Executor: exec, Tasks: tasks, Group: true})
	return resource.Minus(remaining, need...)
}

// validateTask is Mesos' task validation against the remaining resources; it
// returns what the task consumes (its resources plus a new executor's).
func (m *Master) validateTask(fw *framework, ag *agent, ti *mesos.TaskInfo, remaining mesos.Resources) (mesos.Resources, error) {
	if (ti.Command == nil) == (ti.Executor == nil) {
		return nil, errors.New("Task should have at least one (but not both) of CommandInfo or ExecutorInfo present")
	}
	if err := m.validateTaskID(fw, ti.TaskID.Value); err != nil {
		return nil, err
	}
	if ti.AgentID.Value != ag.id {
		return nil, fmt.Errorf("Task uses invalid agent: %s", ti.AgentID.Value)
	}
	if len(ti.Resources) == 0 {
		return nil, errors.New("Task uses no resources")
	}
	if err := resources.Validate(ti.Resources...); err != nil {
		return nil, fmt.Errorf("Task uses invalid resources: %v", err)
	}
	if kp := ti.KillPolicy; kp != nil && kp.GracePeriod != nil && kp.GracePeriod.Nanoseconds < 0 {
		return nil, errors.New("Task's 'kill_policy.grace_period' must be non-negative")
	}
	need := resource.Plus(nil, ti.Resources...)
	if ti.Executor != nil {
		if err := m.checkExecutor(fw, ag, ti.Executor); err != nil {
			return nil, err
		}
		if fw.executors[ag.id][ti.Executor.ExecutorID.Value] == nil {
			need = resource.Plus(need, ti.Executor.Resources...)
		}
	}
	if !resource.Contains(remaining, need) {
		return nil, fmt.Errorf("Task uses more resources %v than available %v", need, remaining)
	}
	return need, nil
}

func (m *Master) validateTaskID(fw *framework, id string) error {
	if id == "" {
		return errors.New("Task ID must not be empty")
	}
	if fw.tasks[id] != nil {
		return fmt.Errorf("Task has duplicate ID: %s", id)
	}
	if fw.unreachableTasks[id] != nil {
		return fmt.Errorf("Task reuses the ID '%s' of an unreachable task", id)
	}
	return nil
}

// checkExecutor refuses an ExecutorInfo that differs from the running
// executor with the same ID.
func (m *Master) checkExecutor(fw *framework, ag *agent, exec *mesos.ExecutorInfo) error {
	if exec.FrameworkID.GetValue() != fw.id {
		return fmt.Errorf("ExecutorInfo has an invalid FrameworkID (actual: %s vs expected: %s)", exec.FrameworkID.GetValue(), fw.id)
	}
	if existing := fw.executors[ag.id][exec.ExecutorID.Value]; existing != nil && !existing.Equal(exec) {
		return fmt.Errorf("ExecutorInfo is not compatible with existing ExecutorInfo for executor '%s'", exec.ExecutorID.Value)
	}
	return nil
}

func (m *Master) validateGroup(fw *framework, ag *agent, exec *mesos.ExecutorInfo, original, tasks []mesos.TaskInfo, remaining mesos.Resources) (mesos.Resources, error) {
	if len(tasks) == 0 {
		return nil, errors.New("Task group must contain at least one task")
	}
	if exec.Type == mesos.ExecutorInfo_UNKNOWN {
		return nil, errors.New("'ExecutorInfo.type' must be set")
	}
	if err := m.checkExecutor(fw, ag, exec); err != nil {
		return nil, err
	}
	need := mesos.Resources{}
	if fw.executors[ag.id][exec.ExecutorID.Value] == nil {
		cpus, _ := resources.CPUs(exec.Resources...)
		mem, _ := resources.Memory(exec.Resources...)
		if cpus < 0.01 || mem < 32 {
			return nil, fmt.Errorf("Executor '%s' must use at least 0.01 cpus and 32MB of memory", exec.ExecutorID.Value)
		}
		need = resource.Plus(need, exec.Resources...)
	}
	ids := map[string]bool{}
	for i := range tasks {
		ti := &tasks[i]
		if orig := original[i].Executor; orig != nil && orig.ExecutorID.Value != exec.ExecutorID.Value {
			return nil, fmt.Errorf("The `ExecutorInfo` of task '%s' is different from executor '%s'", ti.TaskID.Value, exec.ExecutorID.Value)
		}
		if ids[ti.TaskID.Value] {
			return nil, fmt.Errorf("Task group has duplicate task ID: %s", ti.TaskID.Value)
		}
		ids[ti.TaskID.Value] = true
		if err := m.validateTaskID(fw, ti.TaskID.Value); err != nil {
			return nil, err
		}
		if ti.AgentID.Value != ag.id {
			return nil, fmt.Errorf("Task uses invalid agent: %s", ti.AgentID.Value)
		}
		if len(ti.Resources) == 0 {
			return nil, fmt.Errorf("Task '%s' uses no resources", ti.TaskID.Value)
		}
		if err := resources.Validate(ti.Resources...); err != nil {
			return nil, fmt.Errorf("Task '%s' uses invalid resources: %v", ti.TaskID.Value, err)
		}
		need = resource.Plus(need, ti.Resources...)
	}
	if !resource.Contains(remaining, need) {
		return nil, fmt.Errorf("Task group uses more resources %v than available %v", need, remaining)
	}
	return need, nil
}

// applySpeculative applies RESERVE, UNRESERVE, CREATE or DESTROY to the
// offered resources at once, and to the agent's total and the allocation.
func (m *Master) applySpeculative(fw *framework, ag *agent, role string, op *mesos.Offer_Operation, remaining mesos.Resources) (mesos.Resources, error) {
	var from, to mesos.Resources
	switch op.Type {
	case mesos.Offer_Operation_RESERVE:
		to = withAllocation(op.Reserve.GetResources(), role)
		for _, r := range to {
			if !r.IsDynamicallyReserved() {
				return nil, fmt.Errorf("RESERVE of resource %v that is not dynamically reserved", r)
			}
		}
		from = to.ToUnreserved()
	case mesos.Offer_Operation_UNRESERVE:
		from = withAllocation(op.Unreserve.GetResources(), role)
		for _, r := range from {
			if !r.IsDynamicallyReserved() {
				return nil, fmt.Errorf("UNRESERVE of resource %v that is not dynamically reserved", r)
			}
		}
		to = from.ToUnreserved()
	case mesos.Offer_Operation_CREATE:
		to = withAllocation(op.Create.GetVolumes(), role)
		from = make(mesos.Resources, len(to))
		for i, r := range to {
			if !r.IsPersistentVolume() {
				return nil, fmt.Errorf("CREATE of resource %v that is not a persistent volume", r)
			}
			r.Disk = nil
			from[i] = r
		}
	case mesos.Offer_Operation_DESTROY:
		from = withAllocation(op.Destroy.GetVolumes(), role)
		to = make(mesos.Resources, len(from))
		for i, r := range from {
			if !r.IsPersistentVolume() {
				return nil, fmt.Errorf("DESTROY of resource %v that is not a persistent volume", r)
			}
			r.Disk = nil
			to[i] = r
		}
	}
	if len(from) == 0 {
		return nil, errors.New("operation names no resources")
	}
	if !resource.Contains(remaining, from) {
		return nil, fmt.Errorf("operation needs %v but only %v is offered", from, remaining)
	}
	if err := m.alloc.UpdateAllocation(fw.id, ag.id, from, to); err != nil {
		return nil, err
	}
	total := resource.Minus(ag.info.Resources, stripAllocationInfo(from)...)
	ag.info.Resources = resource.Plus(total, stripAllocationInfo(to)...)
	return resource.Plus(resource.Minus(remaining, from...), to...), nil
}

// refuseOperationID answers an offer operation that asks for feedback (its
// id is set), which no agent of mesos-sim supports.
func (m *Master) refuseOperationID(fw *framework, op *mesos.Offer_Operation) {
	m.log.Info("dropping offer operation with an id: operation feedback is not supported", "framework_id", fw.id, "type", op.Type)
	switch op.Type {
	case mesos.Offer_Operation_LAUNCH:
		for _, ti := range op.Launch.GetTaskInfos() {
			m.sendTransientStatus(fw, ti, mesos.TASK_ERROR, mesos.REASON_TASK_INVALID, "The 'id' field was set in an offer operation of type LAUNCH")
		}
	case mesos.Offer_Operation_LAUNCH_GROUP:
		if lg := op.LaunchGroup; lg != nil {
			for _, ti := range lg.TaskGroup.Tasks {
				m.sendTransientStatus(fw, ti, mesos.TASK_ERROR, mesos.REASON_TASK_GROUP_INVALID, "The 'id' field was set in an offer operation of type LAUNCH_GROUP")
			}
		}
	default:
		msg := "Operation feedback is not supported: no agent has AGENT_OPERATION_FEEDBACK"
		m.sendEvent(fw, &scheduler.Event{Type: scheduler.Event_UPDATE_OPERATION_STATUS, UpdateOperationStatus: &scheduler.Event_UpdateOperationStatus{
			Status: mesos.OperationStatus{OperationID: op.ID, State: mesos.OPERATION_ERROR, Message: &msg},
		}})
	}
}
