package framework

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubemesos/kubemesos/framework/podtask"
	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// TestRetriedLaunchBindsWhereTheTaskRuns: kube-scheduler tries a pod again
// on another node after its Binding failed, or after a Binding that landed
// although its answer was an error (a timeout of an overloaded API server).
// The pod's task already runs: the pod is bound where it runs, the launch
// is refused and the task lives on. Only a task whose pod is bound to
// another node is killed.
func TestRetriedLaunchBindsWhereTheTaskRuns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cluster := startMesosSim(ctx, t, 2)
	kube := fake.NewClientset()
	kube.PrependReactor("create", "pods", bindingReactor(kube))
	f := runFramework(t, Config{MesosURL: cluster.URL, OfferHold: time.Hour, ExecutorURI: "http://127.0.0.1:1/kubemesos"}, kube)
	o := f.Offers()
	const first, second = "sim-agent-0", "sim-agent-1"
	for _, n := range []string{first, second} {
		poll(t, "the offers of "+n, nil, 0, func() bool {
			av, ok := o.Available(n, "*")
			return ok && av.CPUs >= 1
		})
	}
	launchOn := func(p *corev1.Pod, node string) error {
		t.Helper()
		poll(t, "offers on "+node+" that fit "+p.Name, nil, 0, func() bool {
			return o.Reserve(node, mesosoffers.PodClaim(p, "*")) == nil
		})
		return o.Launch(ctx, p, node)
	}
	// runOn creates a pod and launches it on node, as the plugin does
	// before the Binding, until its task runs.
	runOn := func(name, node string) *corev1.Pod {
		t.Helper()
		p := testPod(name, name)
		if _, err := kube.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := launchOn(p, node); err != nil {
			t.Fatalf("launch %s: %v", name, err)
		}
		poll(t, "the task of "+name+" running", nil, 0, func() bool {
			return taskStates(t, cluster.URL)[podtask.TaskID(p.UID)] == "TASK_RUNNING"
		})
		return p
	}
	getPod := func(name string) *corev1.Pod {
		t.Helper()
		p, err := kube.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	// The Binding after the launch on the first node was lost: the pod is
	// unbound and the scheduler picks the second node.
	retried := runOn("retried", first)
	id := podtask.TaskID(retried.UID)
	if err := launchOn(retried, second); !errors.Is(err, ErrTaskExists) {
		t.Fatalf("second launch: %v, want ErrTaskExists", err)
	}
	if n := getPod("retried").Spec.NodeName; n != first {
		t.Errorf("pod bound to %q, want %q, where its task runs", n, first)
	}
	// Bound now, a further retry (the scheduler's cache lags) changes nothing.
	if err := launchOn(retried, second); !errors.Is(err, ErrTaskExists) {
		t.Fatalf("third launch: %v, want ErrTaskExists", err)
	}

	// A task whose pod is bound to another node runs for no pod: killed.
	stray := runOn("stray", first)
	strayID := podtask.TaskID(stray.UID)
	p := getPod("stray")
	p.Spec.NodeName = second
	if _, err := kube.CoreV1().Pods("default").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := launchOn(stray, second); !errors.Is(err, ErrTaskExists) {
		t.Fatalf("launch of the stray pod: %v, want ErrTaskExists", err)
	}
	poll(t, "the stray task killed", nil, 0, func() bool { return taskStates(t, cluster.URL)[strayID] == "TASK_KILLED" })

	if st := taskStates(t, cluster.URL)[id]; st != "TASK_RUNNING" {
		t.Errorf("the retried pod's task is %s, want TASK_RUNNING", st)
	}
	if n := len(taskStates(t, cluster.URL)); n != 2 {
		t.Errorf("%d tasks, want 2 (no second task for a pod)", n)
	}
}
