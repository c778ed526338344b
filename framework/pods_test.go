package framework

import (
	"io"
	"log/slog"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// TestWaitingBacklog: every waiting pod of ours counts as waiting in its
// role; only those kube-scheduler has not reported it cannot place
// (PodScheduled False) count in the backlog; bound pods count in neither.
func TestWaitingBacklog(t *testing.T) {
	f := unitFramework(t, "web", "batch")
	scheduled := func(status corev1.ConditionStatus, reason string) []corev1.PodCondition {
		return []corev1.PodCondition{{Type: corev1.PodScheduled, Status: status, Reason: reason}}
	}
	for _, p := range []struct {
		name, role, node string
		conditions       []corev1.PodCondition
	}{
		{name: "fresh", role: "web"},
		{name: "retried", role: "web", conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}},
		{name: "unschedulable", role: "web", conditions: scheduled(corev1.ConditionFalse, corev1.PodReasonUnschedulable)},
		{name: "gated", role: "web", conditions: scheduled(corev1.ConditionFalse, corev1.PodReasonSchedulingGated)},
		{name: "batch", role: "batch"},
		{name: "bound", role: "web", node: "n1", conditions: scheduled(corev1.ConditionTrue, "")},
	} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: p.name, UID: types.UID("uid-" + p.name),
				Annotations: map[string]string{mesosoffers.RoleAnnotation: p.role}},
			Spec: corev1.PodSpec{SchedulerName: f.cfg.SchedulerName, NodeName: p.node,
				Containers: []corev1.Container{{Name: "c", Image: "busybox", Command: []string{"sleep", "1"}}}},
			Status: corev1.PodStatus{Conditions: p.conditions},
		}
		f.podChanged(nil, pod)
	}
	f.demandMu.Lock()
	got := f.waitingNeedsLocked()
	f.demandMu.Unlock()
	want := map[string]struct{ pods, backlog int }{"web": {4, 2}, "batch": {1, 1}}
	if len(got) != len(want) {
		t.Fatalf("waiting = %+v, want roles web and batch", got)
	}
	for role, w := range want {
		if g := got[role]; g.Pods != w.pods || g.Backlog != w.backlog {
			t.Errorf("role %s: %d pods waiting, backlog %d; want %d and %d", role, g.Pods, g.Backlog, w.pods, w.backlog)
		}
	}
}

// unitFramework is a Framework that is never started, on a fake clientset,
// with roles.
func unitFramework(t *testing.T, roles ...string) *Framework {
	t.Helper()
	f, err := New(Config{MesosURL: "http://127.0.0.1:1", ExecutorURI: "http://127.0.0.1:1/kubemesos", Roles: roles},
		fake.NewClientset(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}
