package framework

import (
	"context"
	"fmt"
	"slices"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/kubemesos/kubemesos/framework/inventory"
	"github.com/kubemesos/kubemesos/framework/offer"
	"github.com/kubemesos/kubemesos/framework/podtask"
	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

func everything() labels.Selector { return labels.Everything() }

// ours reports whether a pod is this framework's: scheduled by our
// scheduler name, or bound to one of our nodes.
func (f *Framework) ours(p *corev1.Pod) bool {
	if p.Spec.SchedulerName == f.cfg.SchedulerName {
		return true
	}
	if p.Spec.NodeName != "" {
		_, ok := f.agentOfNode(p.Spec.NodeName)
		return ok
	}
	return false
}

// podChanged tracks pending pods (for SUPPRESS/REVIVE), refuses pods the
// process runtime cannot run, and kills the task of a pod being deleted.
func (f *Framework) podChanged(_, obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok || !f.ours(p) {
		return
	}
	if p.Spec.NodeName != "" {
		f.bound(p.UID)
	}
	waiting := p.Spec.NodeName == "" && p.DeletionTimestamp == nil && !isTerminal(p)
	f.demandMu.Lock()
	if waiting {
		f.pending[p.UID] = pendingPod{role: f.podRole(p), need: mesosoffers.PodClaim(p, f.DefaultRole()).Resources, stalled: schedulingStalled(p)}
	} else {
		delete(f.pending, p.UID)
	}
	f.demandMu.Unlock()
	if !waiting {
		f.placed(p.UID)
	}
	ctx := context.Background()
	if waiting && p.Spec.SchedulerName == f.cfg.SchedulerName {
		f.refuseUnrunnable(ctx, p)
	}
	if p.DeletionTimestamp != nil && p.Spec.NodeName != "" {
		f.podDeleting(ctx, p)
	}
	f.restoreReady(p)
}

// refuseUnrunnable marks Failed, before any launch, a waiting pod that can
// never run here: one the process runtime cannot run, one whose role the
// framework does not subscribe with (no offer of that role ever comes), or
// one whose host ports no registered agent has.
func (f *Framework) refuseUnrunnable(ctx context.Context, p *corev1.Pod) {
	reason, why := "", ""
	role := f.podRole(p)
	if err := podtask.Check(p); err != nil {
		reason, why = "Unsupported", err.Error()
	} else if !slices.Contains(f.cfg.Roles, role) {
		reason, why = "UnknownRole", fmt.Sprintf("Mesos role %q (annotation %s) is not one of the framework's roles %v: no offer of it ever comes", role, mesosoffers.RoleAnnotation, f.cfg.Roles)
	} else if ports := mesosoffers.HostPorts(p); len(ports) > 0 {
		if why = f.inv.NoAgentHasPorts(role, ports); why != "" {
			reason = "HostPortUnavailable"
		}
	}
	if reason != "" {
		go f.failPod(ctx, p, reason, why)
	}
}

// agentRegistered takes an agent the master has registered (from its
// operator API) into the pool, so that it has a node even while offers
// are suppressed.
func (f *Framework) agentRegistered(a inventory.Agent) {
	hostname := a.Hostname
	url := &mesos.URL{Scheme: "http", Address: mesos.Address{Hostname: &hostname, Port: a.Port}}
	f.pool.Register(a.ID, a.Hostname, url, offer.Summarize(a.Total))
}

// agentsWait bounds how long launches wait for the operator API's state
// after the framework starts.
const agentsWait = 10 * time.Second

func (f *Framework) markAgentsKnown() { f.agentsKnownOnce.Do(func() { close(f.agentsKnown) }) }

// executorRunning records the ExecutorInfo of an executor the master runs
// (from the operator API's state): when it is one of ours, started by an
// earlier framework process, new pods on its agent are launched into it
// with that same ExecutorInfo, whatever this process' --executor-uri (the
// master refuses a launch into a running executor with another one).
func (f *Framework) executorRunning(agentID string, info mesos.ExecutorInfo) {
	if info.ExecutorID.Value != offer.ExecutorID || info.GetFrameworkID().GetValue() != f.FrameworkID() || f.FrameworkID() == "" {
		return
	}
	f.execMu.Lock()
	defer f.execMu.Unlock()
	if _, ok := f.executors[agentID]; !ok {
		f.executors[agentID] = info
		f.log.Debug("launching into a running executor started by an earlier framework process", "agent_id", agentID, "executor_command", info.GetCommand().GetValue())
	}
}

// recheckWaiting looks again at the waiting pods once the inventory has
// synced: a pod created before could not be checked against the agents.
func (f *Framework) recheckWaiting() {
	pods, err := f.podLister.List(everything())
	if err != nil {
		return
	}
	for _, p := range pods {
		if p.Spec.NodeName == "" && p.DeletionTimestamp == nil && !isTerminal(p) && p.Spec.SchedulerName == f.cfg.SchedulerName {
			f.refuseUnrunnable(context.Background(), p)
		}
	}
}

func (f *Framework) podDeleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	f.demandMu.Lock()
	delete(f.pending, p.UID)
	f.demandMu.Unlock()
	f.placed(p.UID)
	f.tasksMu.Lock()
	t, ok := f.tasks[p.UID]
	var agentID string
	running := ok && !isTaskTerminal(t)
	if ok {
		agentID = t.agentID
	}
	f.tasksMu.Unlock()
	if running {
		f.kill(context.Background(), p.UID, agentID, 0)
	}
}

// podDeleting kills a deleted pod's task with the pod's grace period, or
// removes the pod object at once if its task already ended.
func (f *Framework) podDeleting(ctx context.Context, p *corev1.Pod) {
	f.tasksMu.Lock()
	t, known := f.tasks[p.UID]
	sent := known && t.killSent
	var agentID string
	ended := !known && isTerminal(p)
	if known {
		t.killSent = true
		agentID = t.agentID
		ended = isTaskTerminal(t)
	}
	f.tasksMu.Unlock()
	if sent {
		return
	}
	if ended {
		go func() { _ = f.deletePod(ctx, p) }()
		return
	}
	if id, ok := f.agentOfNode(p.Spec.NodeName); !known && ok {
		agentID = id
		f.tasksMu.Lock()
		f.tasks[p.UID] = &task{agentID: id, node: p.Spec.NodeName, namespace: p.Namespace, name: p.Name, killSent: true}
		f.tasksMu.Unlock()
	}
	f.kill(ctx, p.UID, agentID, gracePeriod(p))
}

// gracePeriod is the grace period of a pod's deletion (0 if none is set).
func gracePeriod(p *corev1.Pod) int64 {
	if p.DeletionGracePeriodSeconds != nil {
		return *p.DeletionGracePeriodSeconds
	}
	return 0
}

func (f *Framework) kill(ctx context.Context, uid types.UID, agentID string, grace int64) {
	call := killCall(podtask.TaskID(uid), agentID, grace)
	if err := f.call(ctx, call); err != nil {
		f.log.Warn("kill failed; reconciliation retries it", "task_id", podtask.TaskID(uid), "err", err)
		f.tasksMu.Lock()
		if t, ok := f.tasks[uid]; ok {
			t.killSent = false
		}
		f.tasksMu.Unlock()
		return
	}
	f.log.Info("kill sent", "task_id", podtask.TaskID(uid), "agent_id", agentID, "grace_seconds", grace)
}

// podRole is the Mesos role a pod's task runs in: its kubemesos.io/role
// annotation, else the framework's first role.
func (f *Framework) podRole(p *corev1.Pod) string {
	if r := p.Annotations[mesosoffers.RoleAnnotation]; r != "" {
		return r
	}
	return f.DefaultRole()
}

// pendingPod is a pod of ours that waits for a node: its Mesos role and
// what it needs.
type pendingPod struct {
	role string
	need mesosoffers.Resources
	// stalled: kube-scheduler reported that it cannot place the pod now
	// (PodScheduled False: no node fits, scheduling gates, or an error),
	// and waits for a change before it tries again.
	stalled bool
}

// waitingLocked counts, by role, the pods that wait for a node and the
// claims not launched yet (f.demandMu held).
func (f *Framework) waitingLocked() map[string]int {
	waiting := f.pool.ClaimsByRole()
	for _, p := range f.pending {
		waiting[p.role]++
	}
	return waiting
}

// waitingNeedsLocked is, by role, how many pods wait for a node and the
// least cpus and memory one of them needs (f.demandMu held).
func (f *Framework) waitingNeedsLocked() map[string]offer.Waiting {
	out := map[string]offer.Waiting{}
	for _, p := range f.pending {
		w, ok := out[p.role]
		if !ok || p.need.CPUs < w.Least.CPUs {
			w.Least.CPUs = p.need.CPUs
		}
		if !ok || p.need.MemMiB < w.Least.MemMiB {
			w.Least.MemMiB = p.need.MemMiB
		}
		w.Pods++
		if !p.stalled {
			w.Backlog++
		}
		out[p.role] = w
	}
	return out
}

// updateDemand sends SUPPRESS or REVIVE for the roles whose number of
// waiting pods crossed zero.
func (f *Framework) updateDemand(ctx context.Context) {
	f.demandMu.Lock()
	n := len(f.pending)
	sig := f.demand.Pending(f.cfg.Roles, f.waitingLocked())
	f.demandMu.Unlock()
	f.metrics.pending.Set(float64(n))
	f.signal(ctx, sig)
}

func (f *Framework) signal(ctx context.Context, sig offer.Signal) {
	for _, c := range []struct {
		what  string
		roles []string
		call  func([]string) *scheduler.Call
	}{{"suppress", sig.Suppress, suppressCall}, {"revive", sig.Revive, reviveCall}} {
		if len(c.roles) == 0 {
			continue
		}
		if err := f.call(ctx, c.call(c.roles)); err != nil {
			f.log.Debug("offer signal failed", "signal", c.what, "roles", c.roles, "err", err)
			// Start again from "offers flowing": the next round suppresses
			// what has no demand.
			f.demandMu.Lock()
			f.demand.Resubscribed()
			f.demandMu.Unlock()
			return
		}
		f.log.Debug("offer signal", "signal", c.what, "roles", c.roles)
	}
}

// schedulingStalled reports whether kube-scheduler set p's PodScheduled
// condition False (Unschedulable, SchedulingGated or SchedulerError).
func schedulingStalled(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			return c.Status == corev1.ConditionFalse
		}
	}
	return false
}
