package executor

import (
	"bytes"
	"context"
	"crypto/rand"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	corev1 "k8s.io/api/core/v1"
)

// Labels set on every status update of a pod task.
const (
	LabelPod   = "kubemesos.io/pod"
	LabelPhase = "kubemesos.io/phase"
)

// retryUpdates is the wait before resending updates the agent refused or
// did not answer, while the subscription still stands.
const retryUpdates = time.Second

// pendingUpdate is a status update the agent has not acknowledged.
type pendingUpdate struct {
	status mesos.TaskStatus
	sentOn int // the connection generation it was last sent on
}

// progress reports a pod that has not ended, if its state or status
// changed since the last update. A status in phase Succeeded or Failed is
// left to the terminal update sent when the runner says the pod is done.
func (d *Daemon) progress(t *task) {
	if t.status != nil && (t.status.Phase == corev1.PodSucceeded || t.status.Phase == corev1.PodFailed) {
		return // the terminal update carries it, once the pod is done
	}
	state := progressState(t.pod, t.status, t.running)
	enc, err := t.status.Marshal()
	if err != nil {
		d.log.Error("pod status cannot be encoded", "task_id", t.id(), "error", err)
		return
	}
	if t.haveUpdate && state == t.lastState && bytes.Equal(enc, t.lastSent) {
		return
	}
	msg := "pod accepted"
	if state == mesos.TASK_RUNNING {
		t.running = true
		msg = "every container has started"
	}
	t.lastSent = enc
	d.update(t, state, nil, msg)
}

// finish sends a task's terminal update.
func (d *Daemon) finish(t *task, o outcome) {
	if t.terminal {
		return
	}
	t.terminal = true
	t.live = false
	d.update(t, o.state, o.reason, o.message)
}

// update queues a status update of t, with its pod status as data, and
// sends it if the executor is subscribed.
func (d *Daemon) update(t *task, state mesos.TaskState, reason *mesos.TaskStatus_Reason, message string) {
	t.seq++
	t.lastState = state
	t.haveUpdate = true
	st := mesos.TaskStatus{
		TaskID:     t.info.TaskID,
		State:      state.Enum(),
		Source:     mesos.SOURCE_EXECUTOR.Enum(),
		ExecutorID: d.executorID(),
		UUID:       newUUID(),
		Reason:     reason,
		Timestamp:  float64Ptr(float64(d.clock.Now().UnixNano()) / 1e9),
	}
	if d.env.AgentID != "" {
		st.AgentID = &mesos.AgentID{Value: d.env.AgentID}
	}
	if message != "" {
		st.Message = &message
	}
	if t.pod != nil {
		data, err := statusData(t.status, t.seq, t.dir)
		if err != nil {
			d.log.Error("pod status cannot be encoded", "task_id", t.id(), "error", err)
		}
		st.Data = data
		phase := corev1.PodPending
		if t.status != nil && t.status.Phase != "" {
			phase = t.status.Phase
		}
		st.Labels = &mesos.Labels{Labels: []mesos.Label{
			{Key: LabelPod, Value: strPtr(t.podName())},
			{Key: LabelPhase, Value: strPtr(string(phase))},
		}}
	}
	d.log.Debug("status update", "task_id", t.id(), "state", state.String(), "sequence", t.seq, "message", message)
	d.unacked = append(d.unacked, &pendingUpdate{status: st})
	d.sendPending()
}

// sendPending sends, in order, the updates not yet sent on the current
// subscription, stopping at the first failure (retried a little later) so
// that a task's updates never overtake each other.
func (d *Daemon) sendPending() {
	if !d.connected {
		return
	}
	for _, u := range d.unacked {
		if u.sentOn == d.generation {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.HTTPTimeout)
		resp, err := d.cfg.Sender.Send(ctx, calls.NonStreaming(calls.Update(u.status)))
		cancel()
		if resp != nil {
			resp.Close()
		}
		if err != nil {
			d.log.Warn("status update not delivered; retrying", "task_id", u.status.TaskID.Value, "error", err)
			gen := d.generation
			d.after(retryUpdates, func() {
				if gen == d.generation {
					d.sendPending()
				}
			})
			return
		}
		u.sentOn = d.generation
	}
}

// acknowledged drops an update the agent acknowledged; a task whose
// terminal update is acknowledged is forgotten.
func (d *Daemon) acknowledged(taskID string, uuid []byte) {
	for i, u := range d.unacked {
		if u.status.TaskID.Value == taskID && bytes.Equal(u.status.UUID, uuid) {
			d.unacked = append(d.unacked[:i], d.unacked[i+1:]...)
			break
		}
	}
	t := d.tasks[taskID]
	if t == nil {
		return
	}
	t.acked = true
	if t.terminal && !d.hasPending(taskID) {
		delete(d.tasks, taskID)
		for i, id := range d.order {
			if id == taskID {
				d.order = append(d.order[:i], d.order[i+1:]...)
				break
			}
		}
	}
	d.maybeExit()
}

func (d *Daemon) hasPending(taskID string) bool {
	for _, u := range d.unacked {
		if u.status.TaskID.Value == taskID {
			return true
		}
	}
	return false
}

func newUUID() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return b
}

func strPtr(s string) *string       { return &s }
func float64Ptr(f float64) *float64 { return &f }
