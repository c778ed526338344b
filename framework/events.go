package framework

import (
	"context"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/framework/offer"
	"github.com/kubemesos/kubemesos/framework/podtask"
)

// handle dispatches one event of the subscription's stream.
func (f *Framework) handle(ctx context.Context, ev *scheduler.Event) {
	switch ev.GetType() {
	case scheduler.Event_OFFERS:
		offers := ev.GetOffers().GetOffers()
		f.metrics.offers.WithLabelValues("received").Add(float64(len(offers)))
		now := f.clock.Now()
		f.pool.Add(now, offers...)
		f.flushWaiting(ctx, now, f.offeredNodes(offers))
		f.offersArrived(offers)
	case scheduler.Event_RESCIND:
		f.metrics.offers.WithLabelValues("rescinded").Inc()
		f.pool.Rescind(ev.GetRescind().OfferID.Value)
	case scheduler.Event_UPDATE:
		f.onUpdate(ctx, ev.GetUpdate().GetStatus())
	case scheduler.Event_FAILURE:
		fl := ev.GetFailure()
		agentID := fl.GetAgentID().GetValue()
		if fl.ExecutorID != nil {
			f.log.Warn("executor ended", "agent_id", agentID, "executor_id", fl.ExecutorID.GetValue(), "status", fl.GetStatus())
			if fl.ExecutorID.GetValue() == offer.ExecutorID {
				f.pool.ExecutorGone(agentID)
				f.forgetExecutor(agentID)
			}
			return
		}
		if agentID != "" {
			// The master lost the agent: it is unreachable (its tasks are
			// TASK_UNREACHABLE) and may come back. Its node turns NotReady
			// with the unreachable taint; it is deleted only once the agent
			// is gone for good (TASK_GONE_BY_OPERATOR).
			f.log.Warn("agent lost", "agent_id", agentID)
			f.pool.Reachable(agentID, false)
		}
	case scheduler.Event_HEARTBEAT, scheduler.Event_MESSAGE:
	default:
		f.log.Debug("event ignored", "type", ev.GetType().String())
	}
}

// reconcile asks the master for the state of the tasks our bound pods name
// (explicit), then of every task it has of ours (implicit).
func (f *Framework) reconcile(ctx context.Context) {
	f.reconcileMu.Lock()
	f.lastReconcile = f.clock.Now()
	f.reconcileMu.Unlock()
	f.metrics.reconciliations.Inc()
	tasks := map[string]string{}
	pods, err := f.podLister.List(everything())
	if err == nil {
		for _, p := range pods {
			if p.Spec.NodeName == "" || isTerminal(p) {
				continue
			}
			agentID, ok := f.agentOfNode(p.Spec.NodeName)
			if !ok {
				continue
			}
			tasks[podtask.TaskID(p.UID)] = agentID
		}
	}
	if len(tasks) > 0 {
		if err := f.call(ctx, calls.Reconcile(calls.ReconcileTasks(tasks))); err != nil {
			f.log.Warn("explicit reconciliation failed", "err", err)
		}
	}
	if err := f.call(ctx, calls.Reconcile()); err != nil {
		f.log.Warn("implicit reconciliation failed", "err", err)
	}
}

// removeAgent forgets an agent that is gone for good and deletes its node.
func (f *Framework) removeAgent(ctx context.Context, agentID string) {
	name, known := f.nodeOfAgent(agentID)
	if a, ok := f.pool.RemoveAgent(agentID); ok {
		name, known = a.Node, true
	}
	if known {
		f.log.Warn("agent gone; deleting its node", "agent_id", agentID, "node", name)
		f.nodes.remove(ctx, name)
	}
	f.namer.Forget(agentID)
	f.forgetExecutor(agentID)
}

// agentOfNode is the agent behind one of our nodes, from the pool or the
// Node object's label.
func (f *Framework) agentOfNode(name string) (string, bool) {
	if id, ok := f.pool.AgentOf(name); ok {
		return id, true
	}
	return f.nodes.agentOf(name)
}

// nodeOfAgent is the node of one of our agents, from the pool or the Node
// objects' labels.
func (f *Framework) nodeOfAgent(agentID string) (string, bool) {
	if agentID == "" {
		return "", false
	}
	if a, ok := f.pool.Agent(agentID); ok && a.Node != "" {
		return a.Node, true
	}
	return f.nodes.nodeOf(agentID)
}

func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}
