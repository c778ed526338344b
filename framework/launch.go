package framework

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubemesos/kubemesos/framework/offer"
	"github.com/kubemesos/kubemesos/framework/podtask"
	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// offersAPI is the framework as the MesosOffers plugin sees it.
type offersAPI struct{ f *Framework }

var _ mesosoffers.Offers = offersAPI{}

func (o offersAPI) Available(node, role string) (mesosoffers.Available, bool) {
	return o.f.pool.Available(node, role)
}

func (o offersAPI) Reserve(node string, c mesosoffers.Claim) error { return o.f.pool.Reserve(node, c) }

func (o offersAPI) Unreserve(node string, pod types.UID) { o.f.pool.Unreserve(node, pod) }

func (o offersAPI) Launch(ctx context.Context, pod *corev1.Pod, node string) error {
	return o.f.launch(ctx, pod, node)
}

// ErrTaskExists is returned by Launch for a pod whose task already runs on
// another node. The pod is bound to that node instead, where it runs; only
// a task on a node other than the one its pod is bound to is killed, and a
// later attempt launches anew (Mesos refuses a second task with the same ID
// while the first lives).
var ErrTaskExists = errors.New("the pod's task already runs on another node")

// existingTask handles a launch of a pod that already has a live task (one
// launched by an earlier framework process, or one whose Binding failed or
// is not in kube-scheduler's cache yet): on the same node the task is
// adopted (the caller writes the Binding); on another node the pod is bound
// where its task runs and the launch refused, so the scheduler drops its
// guess. Killing the task instead would kill a running pod whose Binding
// had landed although its writer saw an error (a timeout of an overloaded
// API server does that).
func (f *Framework) existingTask(ctx context.Context, pod *corev1.Pod, nodeName, agentID string) (handled bool, err error) {
	f.tasksMu.Lock()
	t, ok := f.tasks[pod.UID]
	if !ok || isTaskTerminal(t) {
		f.tasksMu.Unlock()
		return false, nil
	}
	taskAgent, killSent := t.agentID, t.killSent
	f.tasksMu.Unlock()
	f.pool.Unreserve(nodeName, pod.UID)
	if taskAgent == agentID {
		f.log.Info("adopting the pod's running task", "pod", pod.Namespace+"/"+pod.Name, "task_id", podtask.TaskID(pod.UID), "node", nodeName)
		return true, nil
	}
	refused := fmt.Errorf("launch %s/%s on %s: %w (agent %s)", pod.Namespace, pod.Name, nodeName, ErrTaskExists, taskAgent)
	if killSent {
		return true, refused
	}
	taskNode, known := f.nodeOfAgent(taskAgent)
	if known {
		boundNode, err := f.bindOrRead(ctx, pod, taskNode)
		switch {
		case err != nil:
			return true, fmt.Errorf("%w: binding it to %s, where it runs: %w", refused, taskNode, err)
		case boundNode == taskNode:
			f.log.Info("bound a retried pod to the node its task runs on", "pod", pod.Namespace+"/"+pod.Name, "task_id", podtask.TaskID(pod.UID), "node", taskNode)
			return true, fmt.Errorf("%w: bound it to %s, where it runs", refused, taskNode)
		}
	}
	// The pod is bound elsewhere, or the task's agent has no node: the
	// task runs for no pod there.
	f.tasksMu.Lock()
	t.killSent = true
	f.tasksMu.Unlock()
	f.kill(ctx, pod.UID, taskAgent, 0)
	return true, refused
}

// bindOrRead binds pod to node and returns the node the pod is bound to:
// node, or, if the Binding failed, the one the API server has (empty for an
// unbound pod, with the Binding's error).
func (f *Framework) bindOrRead(ctx context.Context, pod *corev1.Pod, node string) (string, error) {
	bindErr := f.postBinding(ctx, pod, node)
	if bindErr == nil {
		return node, nil
	}
	cur, err := f.kube.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	switch {
	case err != nil:
		return "", errors.Join(bindErr, err)
	case cur.UID != pod.UID:
		return "", fmt.Errorf("pod %s/%s was replaced: %w", pod.Namespace, pod.Name, bindErr)
	case cur.Spec.NodeName == "":
		return "", bindErr
	}
	return cur.Spec.NodeName, nil
}

// launchReq is one pod waiting for its agent's batch to go out.
type launchReq struct {
	pod  *corev1.Pod
	data []byte
	done chan error
}

// launch builds the pod's payload, queues it for its agent's next ACCEPT and
// waits for the result.
func (f *Framework) launch(ctx context.Context, pod *corev1.Pod, nodeName string) error {
	start := f.clock.Now()
	agentID, ok := f.pool.AgentOf(nodeName)
	if !ok {
		f.pool.Unreserve(nodeName, pod.UID)
		return fmt.Errorf("launch %s/%s: node %s: %w", pod.Namespace, pod.Name, nodeName, offer.ErrUnknownNode)
	}
	if handled, err := f.existingTask(ctx, pod, nodeName, agentID); handled {
		return err
	}
	select {
	case <-f.agentsKnown:
	case <-ctx.Done():
		f.pool.Unreserve(nodeName, pod.UID)
		return ctx.Err()
	}
	if err := podtask.Check(pod); err != nil {
		f.pool.Unreserve(nodeName, pod.UID)
		go f.failPod(context.WithoutCancel(ctx), pod, "Unsupported", err.Error())
		return fmt.Errorf("launch %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	agent, _ := f.pool.Agent(agentID)
	data, err := podtask.Payload(ctx, pod, podtask.Node{Name: nodeName, HostIP: f.agentIP(agent)}, f.resolv)
	if err != nil {
		f.pool.Unreserve(nodeName, pod.UID)
		return fmt.Errorf("launch %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	req := &launchReq{pod: pod, data: data, done: make(chan error, 1)}
	f.batchMu.Lock()
	first := len(f.batches[nodeName]) == 0
	f.batches[nodeName] = append(f.batches[nodeName], req)
	f.batchMu.Unlock()
	if first {
		// The clock is not read inside AfterFunc (a fake clock holds its
		// lock while it runs the function).
		at := f.clock.Now().Add(f.cfg.LaunchWindow)
		f.clock.AfterFunc(f.cfg.LaunchWindow, func() { f.flush(context.WithoutCancel(ctx), nodeName, at) })
	}
	select {
	case err := <-req.done:
		if err == nil {
			f.metrics.launchLatency.Observe(f.clock.Since(start).Seconds())
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush sends the batch of one node, with its waiting launches: one ACCEPT
// per role with a LAUNCH of every pod's task, on all the agent's offers of
// that role; what is left goes back with a zero refuse filter. Launches
// whose claims rest on a remainder still returning to the master wait for
// the agent's next offer (see flushWaiting).
func (f *Framework) flush(ctx context.Context, nodeName string, now time.Time) {
	f.batchMu.Lock()
	reqs := append(f.waiting[nodeName], f.batches[nodeName]...)
	delete(f.batches, nodeName)
	delete(f.waiting, nodeName)
	f.batchMu.Unlock()
	if len(reqs) == 0 {
		return
	}
	byUID := map[types.UID]*launchReq{}
	uids := make([]types.UID, 0, len(reqs))
	for _, r := range reqs {
		byUID[r.pod.UID] = r
		uids = append(uids, r.pod.UID)
	}
	launches, waiting, missing, err := f.pool.Take(now, nodeName, uids)
	if len(waiting) > 0 {
		f.batchMu.Lock()
		for _, uid := range waiting {
			f.waiting[nodeName] = append(f.waiting[nodeName], byUID[uid])
		}
		f.batchMu.Unlock()
	}
	for _, uid := range missing {
		e := err
		if e == nil {
			e = offer.ErrNoClaim
		}
		byUID[uid].done <- fmt.Errorf("launch on node %s: %w", nodeName, e)
	}
	for _, l := range launches {
		f.accept(ctx, nodeName, l, byUID)
	}
}

func (f *Framework) accept(ctx context.Context, nodeName string, l offer.Launch, byUID map[types.UID]*launchReq) {
	rest := l.Resources
	fail := func(err error, claims ...mesosoffers.Claim) {
		for _, c := range claims {
			f.pool.TaskEnded(l.AgentID, c.Pod)
			byUID[c.Pod].done <- err
		}
	}
	if l.NewExecutor {
		_, r, ok := offer.Carve(rest, offer.ExecutorResources)
		if !ok {
			f.pool.ExecutorGone(l.AgentID)
			fail(fmt.Errorf("agent %s offers no room for the kubemesos executor in role %s", l.AgentID, l.Role), l.Claims...)
			f.declineIDs(ctx, l.OfferIDs)
			return
		}
		rest = r
	}
	executor := f.executorFor(l.AgentID, l.Role, l.NewExecutor)
	var tasks []mesos.TaskInfo
	var launched []mesosoffers.Claim
	for _, c := range l.Claims {
		taken, r, ok := offer.Carve(rest, c.Resources)
		if !ok {
			fail(fmt.Errorf("the offers of agent %s no longer hold the claim of pod %s: %w", l.AgentID, c.Pod, offer.ErrNoFit), c)
			continue
		}
		rest = r
		req := byUID[c.Pod]
		tasks = append(tasks, podtask.Task(req.pod, l.AgentID, taken, executor, req.data))
		launched = append(launched, c)
	}
	if len(tasks) == 0 {
		f.declineIDs(ctx, l.OfferIDs)
		return
	}
	// Intent: the task is recorded before the ACCEPT goes out, so that its
	// updates (even a fast TASK_ERROR) find it.
	f.tasksMu.Lock()
	for _, c := range launched {
		pod := byUID[c.Pod].pod
		f.tasks[c.Pod] = &task{agentID: l.AgentID, node: nodeName, namespace: pod.Namespace, name: pod.Name, state: mesos.TASK_STAGING, launchedHere: true}
	}
	f.tasksMu.Unlock()
	call := calls.Accept(calls.OfferOperations{calls.OpLaunch(tasks...)}.WithOffers(l.OfferIDs...)).With(calls.RefuseSeconds(0))
	err := f.call(ctx, call)
	if err != nil {
		f.tasksMu.Lock()
		for _, c := range launched {
			delete(f.tasks, c.Pod)
		}
		f.tasksMu.Unlock()
		if l.NewExecutor {
			f.pool.ExecutorGone(l.AgentID)
			f.forgetExecutor(l.AgentID)
		}
		fail(fmt.Errorf("accept on agent %s: %w", l.AgentID, err), launched...)
		return
	}
	f.metrics.offers.WithLabelValues("used").Add(float64(len(l.OfferIDs)))
	f.log.Debug("launched", "agent_id", l.AgentID, "node", nodeName, "tasks", len(tasks), "offers", len(l.OfferIDs))
	for _, c := range launched {
		byUID[c.Pod].done <- nil
	}
}

func (f *Framework) declineIDs(ctx context.Context, ids []mesos.OfferID) {
	if len(ids) == 0 {
		return
	}
	f.decline(ctx, offer.Decline{OfferIDs: ids})
}

// executorFor is the ExecutorInfo to launch with on an agent: the one our
// running executor was launched with (Mesos refuses any other), or a new one
// whose resources are allocated to role.
func (f *Framework) executorFor(agentID, role string, fresh bool) mesos.ExecutorInfo {
	f.execMu.Lock()
	defer f.execMu.Unlock()
	if e, ok := f.executors[agentID]; ok && !fresh {
		return e
	}
	e := podtask.Executor(f.exec, f.FrameworkID(), executorResources(role))
	f.executors[agentID] = e
	return e
}

func (f *Framework) forgetExecutor(agentID string) {
	f.execMu.Lock()
	defer f.execMu.Unlock()
	delete(f.executors, agentID)
}

// executorResources are the executor's resources, the same for every agent
// and role (so that the same agent always sees the same ExecutorInfo).
func executorResources(role string) []mesos.Resource {
	scalar := func(name string, v float64) mesos.Resource {
		return mesos.Resource{
			Name:           name,
			Type:           mesos.SCALAR.Enum(),
			Scalar:         &mesos.Value_Scalar{Value: v},
			AllocationInfo: &mesos.Resource_AllocationInfo{Role: &role},
		}
	}
	return []mesos.Resource{
		scalar("cpus", offer.ExecutorResources.CPUs),
		scalar("mem", offer.ExecutorResources.MemMiB),
	}
}

// agentIP is the address pods on the agent get as hostIP (process pods
// share the agent's network): the IP of its endpoint, or "" when its host
// name does not resolve (a pod's hostIP must be an IP).
func (f *Framework) agentIP(a offer.Agent) string {
	host := a.Hostname
	if a.URL != nil {
		if ip := net.ParseIP(a.URL.Address.GetIP()); ip != nil {
			return ip.String()
		}
		if h := a.URL.Address.GetHostname(); h != "" {
			host = h
		}
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	f.ipMu.Lock()
	defer f.ipMu.Unlock()
	if ip, ok := f.ips[host]; ok {
		return ip
	}
	ip := ""
	if ips, err := net.LookupIP(host); err == nil && len(ips) > 0 {
		ip = ips[0].String()
	}
	f.ips[host] = ip
	return ip
}
