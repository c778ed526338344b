package framework

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

// TestRestoreReady: a running pod of ours whose Ready condition alone is
// False (as the node lifecycle controller leaves it) is set Ready again,
// and only when nothing else keeps it unready.
func TestRestoreReady(t *testing.T) {
	readyNode := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
	lostNode := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}}}
	marked := func(node string, edit ...func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p", UID: types.UID("uid-" + node)},
			Spec:       corev1.PodSpec{SchedulerName: "kubemesos", NodeName: node},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				{Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
				{Type: corev1.PodReady, Status: corev1.ConditionFalse},
			}},
		}
		for _, e := range edit {
			e(p)
		}
		return p
	}
	setCond := func(t corev1.PodConditionType, s corev1.ConditionStatus) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			for i := range p.Status.Conditions {
				if p.Status.Conditions[i].Type == t {
					p.Status.Conditions[i].Status = s
					return
				}
			}
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: s})
		}
	}
	gate := func(p *corev1.Pod) {
		p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
	}
	for _, tc := range []struct {
		name      string
		pod       *corev1.Pod
		taskState mesos.TaskState
		want      bool
	}{
		{"marked not ready on a ready node", marked("n1"), mesos.TASK_RUNNING, true},
		{"its gate holds", marked("n1", gate, setCond("example.com/lb", corev1.ConditionTrue)), mesos.TASK_RUNNING, true},
		{"its node is still not ready", marked("n2"), mesos.TASK_RUNNING, false},
		{"a container is not ready", marked("n1", setCond(corev1.ContainersReady, corev1.ConditionFalse)), mesos.TASK_RUNNING, false},
		{"its readiness gate does not hold", marked("n1", gate), mesos.TASK_RUNNING, false},
		{"its task is unreachable", marked("n1"), mesos.TASK_UNREACHABLE, false},
		{"already ready", marked("n1", setCond(corev1.PodReady, corev1.ConditionTrue)), mesos.TASK_RUNNING, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewClientset(tc.pod.DeepCopy())
			f, err := New(Config{MesosURL: "http://127.0.0.1:1", ExecutorURI: "http://127.0.0.1:1/kubemesos", SchedulerName: "kubemesos"},
				kube, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []*corev1.Node{readyNode, lostNode} {
				if err := f.factory.Core().V1().Nodes().Informer().GetIndexer().Add(n); err != nil {
					t.Fatal(err)
				}
			}
			f.tasks[tc.pod.UID] = &task{node: tc.pod.Spec.NodeName, state: tc.taskState}
			f.restoreReady(tc.pod)
			var got corev1.ConditionStatus
			deadline := time.Now().Add(time.Second)
			for {
				p, err := kube.CoreV1().Pods("default").Get(context.Background(), "p", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				got = condition(p, corev1.PodReady)
				if got == corev1.ConditionTrue || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if restored := got == corev1.ConditionTrue && condition(tc.pod, corev1.PodReady) != corev1.ConditionTrue; restored != tc.want {
				t.Errorf("Ready written back: %v, want %v (Ready now %q)", restored, tc.want, got)
			}
		})
	}
}
