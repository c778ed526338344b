package agent

import (
	"fmt"
	"net/http"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	execapi "github.com/mesos/mesos-go/api/v1/lib/executor"

	"github.com/kubemesos/kubemesos/mesos-sim/agentproto"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// serveExecutor is the executor API, POST /api/v1/executor, with the status
// codes of Mesos' Http::executor (src/slave/http.cpp): 405, 400 (no
// Content-Type, undecodable or invalid call, unknown framework or
// executor), 415, 406, 503 before the agent registered, 403 for calls of an
// executor that has not subscribed; 200 with an event stream for SUBSCRIBE,
// 202 for the others.
func (a *Agent) serveExecutor(w http.ResponseWriter, r *http.Request) {
	if e := wire.RequirePOST(r); e != nil {
		e.Write(w)
		return
	}
	codec, werr := wire.RequestCodec(r)
	if werr != nil {
		werr.Write(w)
		return
	}
	var call execapi.Call
	if werr := wire.ReadCall(r, codec, &call, "executor::Call"); werr != nil {
		werr.Write(w)
		return
	}
	if err := validateCall(&call); err != nil {
		wire.Errorf(http.StatusBadRequest, "Failed to validate executor::Call: %v", err).Write(w)
		return
	}
	respCodec, werr := wire.ResponseCodec(r)
	if werr != nil {
		werr.Write(w)
		return
	}
	a.mu.Lock()
	if a.id == "" {
		a.mu.Unlock()
		wire.Errorf(http.StatusServiceUnavailable, "Agent has not finished recovery").Write(w)
		return
	}
	if a.shuttingDown {
		// Its executors subscribe to the agent's next run.
		a.mu.Unlock()
		wire.Errorf(http.StatusServiceUnavailable, "Agent is shutting down").Write(w)
		return
	}
	fw := a.frameworks[call.FrameworkID.Value]
	if fw == nil {
		a.mu.Unlock()
		wire.Errorf(http.StatusBadRequest, "Framework cannot be found").Write(w)
		return
	}
	e := fw.executors[call.ExecutorID.Value]
	if e == nil || e.builtin() {
		a.mu.Unlock()
		wire.Errorf(http.StatusBadRequest, "Executor cannot be found").Write(w)
		return
	}
	if call.Type == execapi.Call_SUBSCRIBE {
		stream := a.subscribe(e, call.Subscribe, respCodec)
		a.mu.Unlock()
		_ = stream.Serve(r.Context(), w, nil)
		a.mu.Lock()
		if e.stream == stream {
			e.stream = nil
			if e.heartbeat != nil {
				e.heartbeat.Stop()
				e.heartbeat = nil
			}
			a.log.Info("executor disconnected", "executor_id", e.id(), "framework_id", e.fw.id)
		}
		a.mu.Unlock()
		return
	}
	if e.state == execRegistering || e.state == execLaunching {
		a.mu.Unlock()
		wire.Errorf(http.StatusForbidden, "Executor is not subscribed").Write(w)
		return
	}
	switch call.Type {
	case execapi.Call_UPDATE:
		a.executorUpdate(e, call.Update.Status)
	case execapi.Call_MESSAGE:
		a.executorMessage(e, call.Message.Data)
	case execapi.Call_HEARTBEAT:
	}
	a.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// validateCall is Mesos' validation::executor::call::validate.
func validateCall(c *execapi.Call) error {
	if c.ExecutorID.Value == "" {
		return fmt.Errorf("Expecting 'executor_id' to be present")
	}
	if c.FrameworkID.Value == "" {
		return fmt.Errorf("Expecting 'framework_id' to be present")
	}
	switch c.Type {
	case execapi.Call_SUBSCRIBE:
		if c.Subscribe == nil {
			return fmt.Errorf("Expecting 'subscribe' to be present")
		}
	case execapi.Call_UPDATE:
		if c.Update == nil {
			return fmt.Errorf("Expecting 'update' to be present")
		}
		st := c.Update.Status
		if len(st.UUID) != 16 {
			return fmt.Errorf("Invalid UUID in status update: want 16 bytes, got %d", len(st.UUID))
		}
		if st.ExecutorID != nil && st.ExecutorID.Value != c.ExecutorID.Value {
			return fmt.Errorf("ExecutorID in Call: %s does not match ExecutorID in TaskStatus: %s", c.ExecutorID.Value, st.ExecutorID.Value)
		}
		if st.GetSource() != mesos.SOURCE_EXECUTOR {
			return fmt.Errorf("Received Call from executor %s of framework %s with invalid source, expecting 'SOURCE_EXECUTOR'", c.ExecutorID.Value, c.FrameworkID.Value)
		}
		if st.GetState() == mesos.TASK_STAGING {
			return fmt.Errorf("Received TASK_STAGING from executor %s of framework %s which is not allowed", c.ExecutorID.Value, c.FrameworkID.Value)
		}
	case execapi.Call_MESSAGE:
		if c.Message == nil {
			return fmt.Errorf("Expecting 'message' to be present")
		}
	case execapi.Call_HEARTBEAT:
	default:
		return fmt.Errorf("Received 'UNKNOWN' call")
	}
	return nil
}

// subscribe opens the executor's event stream (a previous one is closed),
// sends SUBSCRIBED, replays the executor's unacknowledged updates and sends
// the launches it has not received. Callers hold a.mu.
func (a *Agent) subscribe(e *executor, sub *execapi.Call_Subscribe, codec wire.Codec) *wire.Stream {
	if e.stream != nil {
		e.stream.Close(nil)
	}
	stream := wire.NewStream(codec)
	e.stream = stream
	if e.heartbeat != nil {
		e.heartbeat.Stop()
	}
	if e.state == execTerminating || e.state == execTerminated {
		a.sendEvent(e, &execapi.Event{Type: execapi.Event_SHUTDOWN})
		stream.Close(nil)
		e.stream = nil
		return stream
	}
	if e.regTimer != nil {
		e.regTimer.Stop()
		e.regTimer = nil
	}
	e.state = execRunning
	cid := mesos.ContainerID{Value: e.containerID}
	a.sendEvent(e, &execapi.Event{Type: execapi.Event_SUBSCRIBED, Subscribed: &execapi.Event_Subscribed{
		ExecutorInfo:  e.info,
		FrameworkInfo: e.fw.info,
		AgentInfo:     a.info(),
		ContainerID:   &cid,
	}})
	a.log.Info("executor subscribed", "executor_id", e.id(), "framework_id", e.fw.id)
	for _, u := range sub.UnacknowledgedUpdates {
		a.executorUpdate(e, u.Status)
	}
	if e.recovering {
		a.subscribedAgain(e, sub.UnacknowledgedTasks)
	}
	queued := e.queued
	e.queued = nil
	for _, l := range queued {
		a.deliver(e, l)
	}
	a.armHeartbeat(e, stream)
	return stream
}

func (a *Agent) armHeartbeat(e *executor, stream *wire.Stream) {
	e.heartbeat = a.clock.AfterFunc(a.cfg.ExecutorHeartbeatInterval, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if e.stream != stream {
			return
		}
		a.sendEvent(e, &execapi.Event{Type: execapi.Event_HEARTBEAT})
		a.armHeartbeat(e, stream)
	})
}

// executorUpdate takes an executor's status update into the task's stream
// and acknowledges it to the executor at once, as Mesos does once the
// update is checkpointed; the framework's acknowledgement only advances the
// agent's stream. Callers hold a.mu.
func (a *Agent) executorUpdate(e *executor, st mesos.TaskStatus) {
	t := e.tasks[st.TaskID.Value]
	if t == nil {
		a.log.Warn("status update for a task the executor does not run; dropped", "executor_id", e.id(), "task_id", st.TaskID.Value)
	} else {
		a.addUpdate(t, st)
	}
	a.sendEvent(e, &execapi.Event{Type: execapi.Event_ACKNOWLEDGED, Acknowledged: &execapi.Event_Acknowledged{
		TaskID: st.TaskID, UUID: st.UUID,
	}})
}

// executorMessage forwards an executor's message to its framework.
func (a *Agent) executorMessage(e *executor, data []byte) {
	msg := agentproto.Message{AgentID: a.id, FrameworkID: e.fw.id, ExecutorID: e.id(), Data: data}
	go func() {
		if _, err := a.postMaster(agentproto.PathMessage, msg, nil); err != nil {
			a.log.Debug("executor message not delivered", "executor_id", msg.ExecutorID, "error", err)
		}
	}()
}
