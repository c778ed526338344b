package agent

import (
	"bytes"
	"crypto/rand"
	"os"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/internal/clock"
	"github.com/kubemesos/kubemesos/mesos-sim/agentproto"
)

// task is one task on the agent, with its reliable status update stream:
// pending[0] is in flight to the master until the framework acknowledges it.
type task struct {
	info  mesos.TaskInfo
	fw    *framework
	exec  *executor
	state mesos.TaskState
	// delivered: the executor got the task (LAUNCH/LAUNCH_GROUP, or the
	// command executor started it).
	delivered bool
	killed    bool
	group     []*task // the task's group (LAUNCH_GROUP), itself included

	// The task's own process (built-in executors only).
	proc      *os.Process
	exited    chan struct{} // closed when proc has been reaped
	procDone  bool
	killTimer clock.Timer

	pending []mesos.TaskStatus
	seen    map[string]bool // uuids already in the stream (executors resend)
	retry   clock.Timer
	backoff time.Duration
}

func (t *task) stopTimers() {
	t.stopRetry()
	if t.killTimer != nil {
		t.killTimer.Stop()
		t.killTimer = nil
	}
}

func (t *task) asTask(agentID string) mesos.Task {
	state := t.state
	out := mesos.Task{
		Name:        t.info.Name,
		TaskID:      t.info.TaskID,
		FrameworkID: mesos.FrameworkID{Value: t.fw.id},
		AgentID:     mesos.AgentID{Value: agentID},
		State:       &state,
		Resources:   t.info.Resources,
		Labels:      t.info.Labels,
		KillPolicy:  t.info.KillPolicy,
	}
	if !t.exec.command {
		id := t.exec.info.ExecutorID
		out.ExecutorID = &id
	}
	return out
}

func newUUID() []byte {
	u := make([]byte, 16)
	_, _ = rand.Read(u)
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	return u
}

// statusFor builds a new reliable update for t. Callers hold a.mu.
func (a *Agent) statusFor(t *task, state mesos.TaskState, reason *mesos.TaskStatus_Reason, source mesos.TaskStatus_Source, msg string) mesos.TaskStatus {
	ts := float64(a.clock.Now().UnixNano()) / 1e9
	st := mesos.TaskStatus{
		TaskID:    t.info.TaskID,
		State:     state.Enum(),
		Source:    source.Enum(),
		Reason:    reason,
		UUID:      newUUID(),
		Timestamp: &ts,
	}
	if msg != "" {
		st.Message = &msg
	}
	return st
}

// transition moves t to a state with a new update of the agent's or the
// built-in executors' making. Callers hold a.mu.
func (a *Agent) transition(t *task, state mesos.TaskState, reason *mesos.TaskStatus_Reason, source mesos.TaskStatus_Source, msg string) {
	if isTerminal(t.state) {
		return
	}
	a.addUpdate(t, a.statusFor(t, state, reason, source, msg))
}

// addUpdate puts an update in t's stream (a duplicate uuid is dropped) and
// sends it if it is the head. Callers hold a.mu.
func (a *Agent) addUpdate(t *task, st mesos.TaskStatus) {
	key := string(st.UUID)
	if t.seen[key] {
		return
	}
	if t.seen == nil {
		t.seen = map[string]bool{}
	}
	t.seen[key] = true
	st.AgentID = &mesos.AgentID{Value: a.id}
	if t.exec.command {
		st.ExecutorID = &mesos.ExecutorID{Value: t.info.TaskID.Value}
	} else {
		id := t.exec.info.ExecutorID
		st.ExecutorID = &id
	}
	if st.Timestamp == nil {
		ts := float64(a.clock.Now().UnixNano()) / 1e9
		st.Timestamp = &ts
	}
	if !isTerminal(t.state) {
		t.state = st.GetState()
	}
	a.log.Debug("status update", "task_id", t.info.TaskID.Value, "state", st.GetState().String(), "framework_id", t.fw.id)
	t.pending = append(t.pending, st)
	a.checkpointUpdates(t)
	if len(t.pending) == 1 {
		t.backoff = a.cfg.StatusUpdateRetryMin
		a.forwardHead(t)
	}
}

// forwardHead sends the update in flight to the master and arms its retry.
// Callers hold a.mu.
func (a *Agent) forwardHead(t *task) {
	if len(t.pending) == 0 || a.shuttingDown {
		return
	}
	t.stopRetry()
	head := t.pending[0]
	if a.id != "" && !a.recovering {
		u := agentproto.Update{AgentID: a.id, FrameworkID: t.fw.id, Status: head}
		go func() {
			_, err := a.postMaster(agentproto.PathUpdate, u, nil)
			switch {
			case unknownAgent(err):
				a.log.Info("the master does not know the agent; registering again", "error", err)
				go a.registerLoop(true)
			case err != nil:
				a.log.Debug("status update not accepted; will retry", "task_id", u.Status.TaskID.Value, "error", err)
			}
		}()
	}
	wait := t.backoff
	t.backoff = min(t.backoff*2, a.cfg.StatusUpdateRetryMax)
	uuid := head.UUID
	t.retry = a.clock.AfterFunc(wait, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if len(t.pending) > 0 && bytes.Equal(t.pending[0].UUID, uuid) && t.fw.tasks[t.info.TaskID.Value] == t {
			a.forwardHead(t)
		}
	})
}

// acknowledge is the framework's acknowledgement, relayed by the master:
// the stream advances; a task whose terminal update is acknowledged is
// forgotten. Callers hold a.mu.
func (a *Agent) acknowledge(frameworkID, taskID string, uuid []byte) {
	fw := a.frameworks[frameworkID]
	if fw == nil {
		return
	}
	t := fw.tasks[taskID]
	if t == nil || len(t.pending) == 0 || !bytes.Equal(t.pending[0].UUID, uuid) {
		return // duplicate or stale
	}
	t.pending[0] = mesos.TaskStatus{}
	t.pending = t.pending[1:]
	t.stopRetry()
	t.backoff = a.cfg.StatusUpdateRetryMin
	if len(t.pending) > 0 {
		a.checkpointUpdates(t)
		a.forwardHead(t)
		return
	}
	if isTerminal(t.state) {
		a.removeTask(t)
		return
	}
	a.checkpointUpdates(t)
}

func (a *Agent) removeTask(t *task) {
	t.stopTimers()
	a.forgetTask(t)
	delete(t.fw.tasks, t.info.TaskID.Value)
	delete(t.exec.tasks, t.info.TaskID.Value)
	a.maybeRemoveExecutor(t.exec)
}

func (t *task) stopRetry() {
	if t.retry != nil {
		t.retry.Stop()
		t.retry = nil
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

func hasFrameworkCap(info mesos.FrameworkInfo, want mesos.FrameworkInfo_Capability_Type) bool {
	for _, c := range info.Capabilities {
		if c.GetType() == want {
			return true
		}
	}
	return false
}
