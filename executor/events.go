package executor

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/protocol"
	"github.com/kubemesos/kubemesos/executor/runner"
)

// handleEvent dispatches one event of the agent's stream.
func (d *Daemon) handleEvent(gen int, ev *executor.Event) {
	if gen != d.generation {
		return
	}
	switch ev.Type {
	case executor.Event_SUBSCRIBED:
		d.subscribed(ev.Subscribed)
	case executor.Event_LAUNCH:
		d.launch(ev.Launch.Task)
	case executor.Event_LAUNCH_GROUP:
		for _, info := range ev.LaunchGroup.TaskGroup.Tasks {
			t := d.addTask(info)
			if t == nil {
				continue
			}
			d.finish(t, outcome{state: mesos.TASK_FAILED, reason: mesos.REASON_TASK_GROUP_INVALID.Enum(),
				message: "LAUNCH_GROUP is not supported: the kubemesos executor runs one pod per task (LAUNCH)"})
		}
	case executor.Event_KILL:
		d.killTask(ev.Kill)
	case executor.Event_ACKNOWLEDGED:
		d.acknowledged(ev.Acknowledged.TaskID.Value, ev.Acknowledged.UUID)
	case executor.Event_MESSAGE:
		d.log.Debug("framework message ignored", "bytes", len(ev.Message.Data))
	case executor.Event_SHUTDOWN:
		d.log.Info("SHUTDOWN from the agent")
		d.beginShutdown("SHUTDOWN")
	case executor.Event_ERROR:
		msg := ev.GetError().GetMessage()
		d.log.Warn("ERROR from the agent", "message", msg)
		d.lost(gen, errors.New("agent sent ERROR: "+msg))
	case executor.Event_HEARTBEAT:
	default:
		d.log.Warn("unknown event ignored", "type", ev.Type.String())
	}
}

func (d *Daemon) subscribed(sub *executor.Event_Subscribed) {
	d.connected = true
	d.everSubscribed = true
	d.disconnected = time.Time{}
	d.backoff = 0
	if id := sub.AgentInfo.GetID().GetValue(); id != "" {
		d.env.AgentID = id
	}
	d.hostIP = hostIPFrom(d.env.AgentEndpoint, sub.AgentInfo.GetHostname())
	d.log.Info("subscribed", "agent_id", d.env.AgentID, "host_ip", d.hostIP)
	if !d.trimmed {
		d.trimmed = true
		n, err := releaseStartupPages()
		d.log.Debug("released the pages start-up touched", "mapped_bytes", n, "error", err)
	}
	d.sendPending()
	d.checkIdle()
}

// addTask records a launched task; nil for a task id it already has (a
// launch repeated after resubscribing).
func (d *Daemon) addTask(info mesos.TaskInfo) *task {
	id := info.TaskID.Value
	if _, ok := d.tasks[id]; ok {
		d.log.Debug("launch of a known task ignored", "task_id", id)
		return nil
	}
	t := &task{info: info, killGrace: -1}
	d.tasks[id] = t
	d.order = append(d.order, id)
	return t
}

// launch starts a pod task: TASK_STARTING at once, then the runner
// prepares and starts the pod in the background.
func (d *Daemon) launch(info mesos.TaskInfo) {
	t := d.addTask(info)
	if t == nil {
		return
	}
	log := d.log.With("task_id", t.id())
	if d.shutdown != nil {
		d.finish(t, outcome{state: mesos.TASK_FAILED, reason: mesos.REASON_EXECUTOR_TERMINATED.Enum(), message: "the executor is shutting down"})
		return
	}
	spec, pod, err := decodePodTask(info.Data)
	if err != nil {
		log.Warn("invalid pod task refused", "error", err)
		d.finish(t, outcome{state: mesos.TASK_FAILED, reason: mesos.REASON_TASK_INVALID.Enum(), message: "invalid kubemesos pod task: " + err.Error()})
		d.checkIdle()
		return
	}
	t.pod, t.spec = pod, spec
	if s := spec.GetSettings().GetIdleTimeoutSeconds(); s > 0 {
		d.idleTimeout = time.Duration(s) * time.Second
	} else {
		d.idleTimeout = DefaultIdleTimeout
	}
	if g := info.GetKillPolicy().GetGracePeriod(); g != nil {
		t.killGrace = time.Duration(g.GetNanoseconds())
	}
	dir, err := filepath.Abs(filepath.Join(d.env.Sandbox, protocol.PodDir(pod.Namespace, pod.Name, string(pod.UID))))
	if err != nil {
		d.finish(t, outcome{state: mesos.TASK_FAILED, reason: mesos.REASON_CONTAINER_LAUNCH_FAILED.Enum(), message: "pod directory: " + err.Error()})
		return
	}
	t.dir = dir
	t.live = true
	t.starting = true
	d.stopIdle()
	t.status = &corev1.PodStatus{Phase: corev1.PodPending, HostIP: d.hostIP, PodIP: d.hostIP}
	d.progress(t)
	log = log.With("pod", t.podName())
	log.Info("starting pod", "dir", dir)
	cfg := runner.Config{
		Pod:    pod,
		Task:   spec,
		Dir:    dir,
		HostIP: d.hostIP,
		OnStatus: func(st *corev1.PodStatus) {
			st = st.DeepCopy()
			d.inbox.post(func() { d.podStatus(t, st) })
		},
		Logger:  log,
		Cgroups: d.cfg.Cgroups,
	}
	go func() {
		h, err := d.cfg.StartPod(cfg)
		d.inbox.post(func() { d.started(t, h, err) })
	}()
}

// started takes the runner's answer to Start.
func (d *Daemon) started(t *task, h Pod, err error) {
	t.starting = false
	if err != nil {
		d.log.Warn("pod could not be started", "task_id", t.id(), "pod", t.podName(), "error", err)
		t.live = false
		st := t.status.DeepCopy()
		st.Phase = corev1.PodFailed
		st.Reason = "StartError"
		st.Message = err.Error()
		t.status = st
		d.finish(t, outcome{state: mesos.TASK_FAILED, reason: mesos.REASON_CONTAINER_LAUNCH_FAILED.Enum(), message: "pod could not be started: " + err.Error()})
		d.afterPodEnd()
		return
	}
	t.handle = h
	go func() {
		<-h.Done()
		d.inbox.post(func() { d.podDone(t) })
	}()
	if t.kill {
		go h.Kill(t.killGrace)
	}
}

// podStatus takes a status change from the runner.
func (d *Daemon) podStatus(t *task, st *corev1.PodStatus) {
	if t.terminal {
		return
	}
	t.status = st
	d.progress(t)
}

// podDone: no container of the pod runs or will run again.
func (d *Daemon) podDone(t *task) {
	t.live = false
	if st := t.handle.Status(); st != nil {
		t.status = st.DeepCopy()
	}
	o := finalOutcome(t.status, t.kill)
	d.log.Info("pod ended", "task_id", t.id(), "pod", t.podName(), "state", o.state.String(), "message", o.message)
	d.finish(t, o)
	d.afterPodEnd()
}

func (d *Daemon) afterPodEnd() {
	d.checkIdle()
	d.maybeExit()
}

// killTask handles KILL: the event's kill policy, else the task's, else the
// pod's terminationGracePeriodSeconds.
func (d *Daemon) killTask(k *executor.Event_Kill) {
	t := d.tasks[k.TaskID.Value]
	if t == nil {
		d.log.Warn("KILL for an unknown task ignored", "task_id", k.TaskID.Value)
		return
	}
	if !t.live {
		return
	}
	if g := k.GetKillPolicy().GetGracePeriod(); g != nil {
		t.killGrace = time.Duration(g.GetNanoseconds())
	}
	t.kill = true
	d.log.Info("killing pod", "task_id", t.id(), "pod", t.podName(), "grace", t.killGrace)
	if t.handle != nil {
		go t.handle.Kill(t.killGrace)
	}
}

// decodePodTask is protocol.DecodePodTask for data from the network: a
// payload that makes a decoder panic is an invalid payload, not a crash of
// the executor and of every pod it runs.
func decodePodTask(data []byte) (spec *protocol.PodTask, pod *corev1.Pod, err error) {
	defer func() {
		if r := recover(); r != nil {
			spec, pod, err = nil, nil, fmt.Errorf("decoding the pod task panicked: %v", r)
		}
	}()
	return protocol.DecodePodTask(data)
}
