package framework

import (
	"context"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubemesos/kubemesos/framework/node"
)

// nodeIndex indexes the pod informer by spec.nodeName.
const nodeIndex = "node"

// The node lifecycle controller marks a node whose lease it saw expire
// (renewals queued behind a slow API server, a paused process) Ready
// Unknown, taints it, and sets the Ready condition of each of its pods
// False. A kubelet undoes all of it on its next status sync, since it
// compares what it computes with what the API server holds. The framework
// writes nodes and pods from what it last wrote, so it watches both kinds
// and undoes the same: nodeObserved rewrites a node whose readiness
// another writer changed, and restoreReady sets a pod's Ready back once
// its node is Ready again, its task runs and nothing else keeps it
// unready.

// nodeObserved is an informer's view of a node: if it is one of ours and
// its Ready status is not what the framework last wrote, the node is
// written again from this copy (due now, not at its next refresh); if it
// just turned Ready, its pods' readiness is looked at.
func (f *Framework) nodeObserved(old, cur *corev1.Node) {
	if f.nodes.overwritten(cur) {
		f.metrics.nodesRewritten.Inc()
		f.log.Info("node readiness changed by another writer; writing it again",
			"node", cur.Name, "ready", string(node.ReadyStatus(cur)))
	}
	if old != nil && node.ReadyStatus(old) != corev1.ConditionTrue && node.ReadyStatus(cur) == corev1.ConditionTrue {
		objs, err := f.podIndex.ByIndex(nodeIndex, cur.Name)
		if err != nil {
			return
		}
		for _, obj := range objs {
			if p, ok := obj.(*corev1.Pod); ok {
				f.restoreReady(p)
			}
		}
	}
}

// overwritten reports whether cur, the API server's copy of one of our
// nodes, has another Ready status than the framework's last write of it;
// if so the node is due now and cur is the base of its next patch.
func (s *nodeSync) overwritten(cur *corev1.Node) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ours := s.agents[cur.Name]; !ours {
		return false
	}
	last, ok := s.writer.Last(cur.Name)
	if !ok || node.ReadyStatus(last) == node.ReadyStatus(cur) {
		return false
	}
	s.objects[cur.Name] = cur.DeepCopy()
	s.writer.Expire(cur.Name)
	s.pending[cur.Name] = true
	return true
}

// restoreReady writes Ready True back to a running pod of ours that only
// the node lifecycle controller keeps unready: its containers are ready,
// its readiness gates hold, its task runs and its node is Ready.
func (f *Framework) restoreReady(p *corev1.Pod) {
	// Called for every pod event: the checks on the object itself go
	// before the lookups.
	if p.Spec.NodeName == "" || p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return
	}
	if condition(p, corev1.PodReady) != corev1.ConditionFalse || condition(p, corev1.ContainersReady) != corev1.ConditionTrue || !f.ours(p) {
		return
	}
	for _, g := range p.Spec.ReadinessGates {
		if condition(p, g.ConditionType) != corev1.ConditionTrue {
			return
		}
	}
	n, err := f.nodeLister.Get(p.Spec.NodeName)
	if err != nil || node.ReadyStatus(n) != corev1.ConditionTrue {
		return
	}
	f.tasksMu.Lock()
	t := f.tasks[p.UID]
	running := t != nil && t.state == mesos.TASK_RUNNING && t.node == p.Spec.NodeName
	f.tasksMu.Unlock()
	if !running {
		return
	}
	f.restoreMu.Lock()
	if f.restoring[p.UID] {
		f.restoreMu.Unlock()
		return
	}
	f.restoring[p.UID] = true
	f.restoreMu.Unlock()
	go func() {
		defer func() {
			f.restoreMu.Lock()
			delete(f.restoring, p.UID)
			f.restoreMu.Unlock()
		}()
		st := p.Status.DeepCopy()
		for i := range st.Conditions {
			if st.Conditions[i].Type == corev1.PodReady {
				st.Conditions[i] = corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(f.clock.Now())}
			}
		}
		if err := f.writeStatus(context.Background(), p, st); err != nil {
			f.log.Warn("could not set a pod ready again", "pod", p.Namespace+"/"+p.Name, "err", err)
			return
		}
		f.metrics.readyRestored.Inc()
		f.log.Info("pod ready again: the node lifecycle controller had marked it not ready", "pod", p.Namespace+"/"+p.Name, "node", p.Spec.NodeName)
	}()
}

func condition(p *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}
