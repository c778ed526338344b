package framework

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/kubemesos/kubemesos/executor/protocol"
	"github.com/kubemesos/kubemesos/framework/offer"
	"github.com/kubemesos/kubemesos/framework/podtask"
	"github.com/kubemesos/kubemesos/framework/reconcile"
	"github.com/kubemesos/kubemesos/framework/status"
	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

func isTaskTerminal(t *task) bool { return status.IsTerminal(t.state) }

// onUpdate applies one task status update. The write happens in its own
// goroutine (the agent sends a task's next update only after our ACK, so a
// task's updates do not race), and the ACK follows a successful write. An
// agent resends an update it has no ACK for after 10 s; a copy that arrives
// while the first is still being written (a slow API server) is dropped:
// the first one's ACK covers it, and writing it too only doubled the pod
// status writes (2.9 per pod at 5,000 agents in one benchmark run).
func (f *Framework) onUpdate(ctx context.Context, st mesos.TaskStatus) {
	f.metrics.updates.WithLabelValues(st.GetState().String()).Inc()
	key := updateKey(st)
	if !f.applying.begin(key) {
		f.metrics.resentUpdates.Inc()
		return
	}
	go func() {
		defer f.applying.end(key)
		if err := f.applyUpdate(ctx, st); err != nil {
			f.log.Warn("status update not applied; Mesos will resend it", "task_id", st.TaskID.Value, "state", st.GetState().String(), "err", err)
			return
		}
		f.ack(ctx, st)
	}()
}

// updateKey names one status update: its task and UUID (empty for an
// update with no UUID, such as a reconciliation answer, which is never
// resent and never dropped).
func updateKey(st mesos.TaskStatus) string {
	if len(st.UUID) == 0 {
		return ""
	}
	return st.TaskID.Value + "/" + string(st.UUID)
}

// inflight is a set of keys being worked on.
type inflight struct {
	mu   sync.Mutex
	keys map[string]struct{}
}

// begin adds key and reports whether it was absent; the empty key is
// always absent.
func (s *inflight) begin(key string) bool {
	if key == "" {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, busy := s.keys[key]; busy {
		return false
	}
	if s.keys == nil {
		s.keys = map[string]struct{}{}
	}
	s.keys[key] = struct{}{}
	return true
}

// end removes key.
func (s *inflight) end(key string) {
	if key == "" {
		return
	}
	s.mu.Lock()
	delete(s.keys, key)
	s.mu.Unlock()
}

func (f *Framework) ack(ctx context.Context, st mesos.TaskStatus) {
	if len(st.UUID) == 0 {
		return
	}
	if err := f.call(ctx, calls.Acknowledge(st.GetAgentID().GetValue(), st.TaskID.Value, st.UUID)); err != nil {
		f.log.Debug("acknowledge failed", "task_id", st.TaskID.Value, "err", err)
	}
}

func (f *Framework) applyUpdate(ctx context.Context, st mesos.TaskStatus) error {
	uid, ours := podtask.PodUID(st.TaskID.Value)
	if !ours {
		return nil
	}
	agentID := st.GetAgentID().GetValue()
	switch st.GetState() {
	case mesos.TASK_UNREACHABLE:
		f.pool.Reachable(agentID, false)
	case mesos.TASK_RUNNING, mesos.TASK_STARTING:
		f.pool.Reachable(agentID, true)
	case mesos.TASK_GONE_BY_OPERATOR:
		// The operator marked the agent gone: it never comes back.
		defer f.removeAgent(ctx, agentID)
	}
	pod, err := f.podByUID(ctx, uid)
	if err != nil {
		return err
	}
	terminal := status.IsTerminal(st.GetState())
	taskNode, _ := f.nodeOfAgent(agentID)
	f.tasksMu.Lock()
	known := f.tasks[uid]
	facts := reconcile.Task{State: st.GetState(), Node: taskNode,
		Reregistered: st.GetReason() == mesos.REASON_AGENT_REREGISTERED, Reconciled: st.GetReason() == mesos.REASON_RECONCILIATION}
	if known != nil {
		facts.LaunchedHere, facts.KillSent = known.launchedHere, known.killSent
	}
	f.tasksMu.Unlock()
	action := reconcile.Decide(facts, podFacts(pod))
	switch action {
	case reconcile.Kill:
		f.log.Info("task without a pod to run for; killing it", "task_id", st.TaskID.Value, "agent_id", agentID, "state", st.GetState().String())
		f.tasksMu.Lock()
		if known != nil {
			known.killSent = true
		}
		f.tasksMu.Unlock()
		f.kill(ctx, uid, agentID, 0)
		f.forgetTask(uid, agentID, terminal)
		return nil
	case reconcile.Ignore:
		f.forgetTask(uid, agentID, terminal)
		return nil
	case reconcile.Rekill:
		f.log.Info("a deleted pod's task still runs; killing it again", "task_id", st.TaskID.Value, "agent_id", agentID, "pod", pod.Namespace+"/"+pod.Name, "reason", st.GetReason().String())
		f.tasksMu.Lock()
		if known != nil {
			known.killSent = true
		}
		f.tasksMu.Unlock()
		f.kill(ctx, uid, agentID, gracePeriod(pod))
	case reconcile.Bind:
		if pod, err = f.bind(ctx, pod, taskNode); err != nil {
			return err
		}
		f.log.Info("bound a pod to the node of the task an earlier framework process launched", "pod", pod.Namespace+"/"+pod.Name, "node", taskNode, "task_id", st.TaskID.Value)
	}
	f.tasksMu.Lock()
	t, ok := f.tasks[uid]
	if !ok {
		// A task launched before a restart: count what it holds on its
		// agent again, so that the node's allocatable stays truthful.
		t = &task{agentID: agentID, node: taskNode}
		if pod != nil {
			t.namespace, t.name = pod.Namespace, pod.Name
		}
		f.tasks[uid] = t
		if !terminal {
			f.pool.TaskRunning(agentID, uid, mesosoffers.PodClaim(pod, f.DefaultRole()).Resources)
		}
	}
	if agentID != "" {
		t.agentID = agentID
	}
	lastSeq, taskAgent := t.seq, t.agentID
	f.tasksMu.Unlock()
	in := status.Input{Update: st, Pod: pod, LastSeq: lastSeq, HostIP: f.hostIPOf(taskAgent), Now: metav1.NewTime(f.clock.Now())}

	res := status.Map(in)
	if res.PayloadErr != nil {
		f.log.Warn("malformed status payload", "task_id", st.TaskID.Value, "pod", pod.Namespace+"/"+pod.Name, "err", res.PayloadErr)
	}
	f.noteExecutorVersion(res.Version, taskAgent)
	f.tasksMu.Lock()
	t.state = st.GetState()
	if res.Sequence > t.seq {
		t.seq, t.directory, t.logs = res.Sequence, res.Directory, res.Logs
	}
	f.tasksMu.Unlock()
	if terminal {
		f.pool.TaskEnded(taskAgent, uid)
		f.demandMu.Lock()
		sig := f.demand.Freed(f.cfg.Roles, f.waitingLocked())
		f.demandMu.Unlock()
		f.signal(ctx, sig)
	}
	switch {
	case res.Delete:
		return f.deletePod(ctx, pod)
	case res.Stale || res.Status == nil:
		return nil
	}
	if pod.Spec.NodeName == "" && facts.LaunchedHere && !terminal {
		if bound := f.awaitBound(ctx, pod); bound != pod {
			pod = bound
			in.Pod = pod
			if res = status.Map(in); res.Stale || res.Status == nil {
				return nil
			}
		}
	}
	return f.writeStatus(ctx, pod, res.Status)
}

// maxStatusRequests bounds the pod status requests (reads of pods missing
// from the cache, status patches) in flight at once. Each task's updates
// are written in a goroutine of their own; unbounded, a slow API server
// gathers thousands of them, client-go opens a new connection each time one
// fills its HTTP/2 streams, and the process runs out of file descriptors (at
// 5,000 agents and 37,000 pods in one benchmark run it had 20,000 open).
// Requests beyond the bound wait in their goroutines, in no socket.
const maxStatusRequests = 64

// statusSlot waits for room to send a pod status request; release frees it.
func (f *Framework) statusSlot(ctx context.Context) (release func(), err error) {
	select {
	case f.statusSlots <- struct{}{}:
		return func() { <-f.statusSlots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// bindWait bounds how long a launched pod's first status write waits for
// its Binding.
const bindWait = 5 * time.Second

// awaitBound waits, up to bindWait, for the informer to show pod bound, and
// returns the pod as it then is (or as it was). kube-scheduler writes the
// Binding once the ACCEPT is taken, so a task's first update races it; a
// status patch sent before the Binding reaches the API server's watch cache
// is applied to a stale copy there, fails in etcd and is applied again (each
// pod status write cost twice a stock kubelet's in the benchmark). A kubelet
// only ever sees bound pods, and this write waits for the same.
func (f *Framework) awaitBound(ctx context.Context, pod *corev1.Pod) *corev1.Pod {
	f.bindMu.Lock()
	ch, ok := f.bindWaits[pod.UID]
	if !ok {
		ch = make(chan struct{})
		f.bindWaits[pod.UID] = ch
	}
	f.bindMu.Unlock()
	defer func() {
		f.bindMu.Lock()
		delete(f.bindWaits, pod.UID)
		f.bindMu.Unlock()
	}()
	// Bound meanwhile: the event came before the wait was registered.
	if cur, err := f.podByUID(ctx, pod.UID); err == nil && cur != nil && cur.Spec.NodeName != "" {
		return cur
	}
	select {
	case <-ch:
	case <-f.clock.After(bindWait):
	case <-ctx.Done():
	}
	if cur, err := f.podByUID(ctx, pod.UID); err == nil && cur != nil {
		return cur
	}
	return pod
}

// bound wakes the status write waiting for the pod's Binding, if any.
func (f *Framework) bound(uid types.UID) {
	f.bindMu.Lock()
	defer f.bindMu.Unlock()
	if ch, ok := f.bindWaits[uid]; ok {
		close(ch)
		delete(f.bindWaits, uid)
	}
}

func (f *Framework) forgetTask(uid types.UID, agentID string, terminal bool) {
	if !terminal {
		return
	}
	f.pool.TaskEnded(agentID, uid)
	f.tasksMu.Lock()
	delete(f.tasks, uid)
	f.tasksMu.Unlock()
}

// podFacts is what reconcile.Decide needs of a pod (nil: no pod).
func podFacts(p *corev1.Pod) reconcile.Pod {
	if p == nil {
		return reconcile.Pod{}
	}
	return reconcile.Pod{Exists: true, Node: p.Spec.NodeName, Terminal: isTerminal(p), Deleting: p.DeletionTimestamp != nil}
}

// bind writes the Binding of a pod whose task runs on node: the one a
// framework process that died after the ACCEPT never wrote.
// It returns the bound pod as the API server has it.
func (f *Framework) bind(ctx context.Context, pod *corev1.Pod, node string) (*corev1.Pod, error) {
	if err := f.postBinding(ctx, pod, node); err != nil {
		return nil, err
	}
	bound, err := f.kube.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("bind %s/%s: read it back: %w", pod.Namespace, pod.Name, err)
	}
	return bound, nil
}

// postBinding writes the Binding of pod (by UID) to node.
func (f *Framework) postBinding(ctx context.Context, pod *corev1.Pod, node string) error {
	binding := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}
	if err := f.kube.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("bind %s/%s to %s: %w", pod.Namespace, pod.Name, node, err)
	}
	return nil
}

// podByUID finds a pod (nil if there is none): in the informer cache, or,
// for a task whose pod's name is known, in the API server. The cache lags
// the API server (by seconds under load, by a whole relist after the API
// server dropped a slow watch), and the scheduler's own cache may be ahead
// of it: a pod just bound and launched can be missing from ours when its
// task's first update arrives. Taking that absence for "no pod" would kill
// the task of a live pod, so absence is confirmed with a live read.
func (f *Framework) podByUID(ctx context.Context, uid types.UID) (*corev1.Pod, error) {
	objs, err := f.podIndex.ByIndex(uidIndex, string(uid))
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			return p, nil
		}
	}
	f.tasksMu.Lock()
	var namespace, name string
	if t, ok := f.tasks[uid]; ok {
		namespace, name = t.namespace, t.name
	}
	f.tasksMu.Unlock()
	if name == "" {
		return nil, nil
	}
	release, err := f.statusSlot(ctx)
	if err != nil {
		return nil, err
	}
	p, err := f.kube.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	release()
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("pod %s/%s of task %s is not in the cache and could not be read: %w", namespace, name, podtask.TaskID(uid), err)
	case p.UID != uid:
		return nil, nil // a new pod of the same name
	}
	f.metrics.podCacheMisses.Inc()
	return p, nil
}

// writeStatus writes a pod's status as a kubelet does: a strategic merge
// patch from the status we last saw to the new one, with the pod's UID as a
// precondition. A patch needs no resourceVersion, so a status the scheduler
// or a controller touched meanwhile is merged, not retried; a patch that
// changes nothing is not sent.
func (f *Framework) writeStatus(ctx context.Context, pod *corev1.Pod, st *corev1.PodStatus) error {
	patch, unchanged, err := statusPatch(pod.UID, &pod.Status, st)
	if err != nil {
		return fmt.Errorf("status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if unchanged {
		return nil
	}
	release, err := f.statusSlot(ctx)
	if err != nil {
		return err
	}
	_, err = f.kube.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	release()
	switch {
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		// Gone, or replaced by a pod of the same name (the UID differs):
		// there is nothing of ours left to write to.
		return nil
	case err != nil:
		return fmt.Errorf("write status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// statusPatch is the strategic merge patch from old to next, carrying uid
// as a precondition; unchanged reports a patch with nothing else in it.
func statusPatch(uid types.UID, old, next *corev1.PodStatus) (patch []byte, unchanged bool, err error) {
	patch, err = twoWayPatch(corev1.Pod{Status: *old}, corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: uid}, Status: *next})
	if err != nil {
		return nil, false, err
	}
	onlyUID := fmt.Sprintf(`{"metadata":{"uid":%q}}`, uid)
	return patch, string(patch) == onlyUID, nil
}

// twoWayPatch is the strategic merge patch from old to next, two objects of
// one API type (a Pod or a Node), as a kubelet computes its status patches.
func twoWayPatch[T any](old, next T) ([]byte, error) {
	oldJSON, err := json.Marshal(old)
	if err != nil {
		return nil, err
	}
	nextJSON, err := json.Marshal(next)
	if err != nil {
		return nil, err
	}
	var schema T
	return strategicpatch.CreateTwoWayMergePatch(oldJSON, nextJSON, schema)
}

// deletePod removes a pod object whose task ended, as a kubelet does.
func (f *Framework) deletePod(ctx context.Context, pod *corev1.Pod) error {
	zero := int64(0)
	err := f.kube.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero,
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	f.tasksMu.Lock()
	delete(f.tasks, pod.UID)
	f.tasksMu.Unlock()
	return nil
}

// failPod marks a pod we cannot run Failed with reason and message.
func (f *Framework) failPod(ctx context.Context, pod *corev1.Pod, reason, message string) {
	st := pod.Status.DeepCopy()
	st.Phase = corev1.PodFailed
	st.Reason = reason
	st.Message = message
	if err := f.writeStatus(ctx, pod, st); err != nil {
		f.log.Warn("could not mark the pod failed", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}

func (f *Framework) hostIPOf(agentID string) string {
	a, ok := f.pool.Agent(agentID)
	if !ok {
		return ""
	}
	return f.agentIP(a)
}

// ErrNoLogs is returned by LogLocation when the container's log files are
// not known (no status from an executor yet, or no such container).
var ErrNoLogs = errors.New("no log files known for the container")

// LogLocation is where a container's log file is: the base URL of the
// agent's HTTP endpoint (its /files API) and the absolute path of the
// current (or, with previous, the one before) log file, from the last status
// the pod's executor sent, or, before one reached this process, from the
// executor's layout and the container's restart count.
func (f *Framework) LogLocation(namespace, pod, container string, previous bool) (agentURL, logPath string, err error) {
	p, err := f.podLister.Pods(namespace).Get(pod)
	if err != nil {
		return "", "", fmt.Errorf("pod %s/%s: %w", namespace, pod, err)
	}
	f.tasksMu.Lock()
	t, ok := f.tasks[p.UID]
	var agentID, dir string
	var files []string
	if ok {
		agentID, dir, files = t.agentID, t.directory, t.logs[container]
	}
	f.tasksMu.Unlock()
	var file string
	if dir != "" {
		idx := len(files) - 1
		if previous {
			idx--
		}
		if idx < 0 {
			return "", "", fmt.Errorf("pod %s/%s container %s: %w", namespace, pod, container, ErrNoLogs)
		}
		file = files[idx]
	} else {
		// No status of this process has said where the files are (it
		// started after the container did: reconciliation answers carry
		// no data): they are where the executor's layout puts them, in
		// the sandbox of our executor's latest run.
		if agentID == "" {
			agentID, _ = f.agentOfNode(p.Spec.NodeName)
		}
		run, ok := restartCount(p, container)
		if previous {
			run--
		}
		if agentID == "" || f.FrameworkID() == "" || !ok || run < 0 {
			return "", "", fmt.Errorf("pod %s/%s container %s: %w", namespace, pod, container, ErrNoLogs)
		}
		dir = path.Join("/frameworks", f.FrameworkID(), "executors", offer.ExecutorID, "runs", "latest", protocol.PodDir(p.Namespace, p.Name, string(p.UID)))
		file = protocol.LogFile(container, run)
	}
	a, ok := f.pool.Agent(agentID)
	if !ok || a.URL == nil {
		return "", "", fmt.Errorf("pod %s/%s: agent %s has no known endpoint", namespace, pod, agentID)
	}
	scheme := a.URL.Scheme
	if scheme == "" {
		scheme = "http"
	}
	host := a.URL.Address.GetIP()
	if host == "" {
		host = a.URL.Address.GetHostname()
	}
	agentURL = fmt.Sprintf("%s://%s:%d", scheme, host, a.URL.Address.Port)
	return agentURL, strings.TrimSuffix(dir, "/") + "/" + strings.TrimPrefix(file, "/"), nil
}

// restartCount is a container's restart count in the pod's status (ok
// false if the status has no such container).
func restartCount(p *corev1.Pod, container string) (int, bool) {
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses, p.Status.EphemeralContainerStatuses} {
		for _, cs := range list {
			if cs.Name == container {
				return int(cs.RestartCount), true
			}
		}
	}
	return 0, false
}
