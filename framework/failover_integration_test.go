package framework

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubemesos/kubemesos/framework/podtask"
	"github.com/kubemesos/kubemesos/framework/status"
	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// bindingReactor makes the fake clientset apply a pods/binding create as
// the API server does: it sets the pod's spec.nodeName, and refuses a pod
// already bound (409 Conflict).
func bindingReactor(kube *fake.Clientset) k8stesting.ReactionFunc {
	return func(action k8stesting.Action) (bool, runtime.Object, error) {
		create, ok := action.(k8stesting.CreateAction)
		if !ok || action.GetSubresource() != "binding" {
			return false, nil, nil
		}
		b := create.GetObject().(*corev1.Binding)
		p, err := kube.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), b.Namespace, b.Name)
		if err != nil {
			return true, nil, err
		}
		pod := p.(*corev1.Pod).DeepCopy()
		if pod.Spec.NodeName != "" {
			return true, nil, apierrors.NewConflict(corev1.Resource("pods/binding"), b.Name,
				fmt.Errorf("pod %s is already assigned to node %q", b.Name, pod.Spec.NodeName))
		}
		pod.Spec.NodeName = b.Target.Name
		return true, nil, kube.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"), pod, b.Namespace)
	}
}

// TestFailoverReconciles stops a framework after it launched tasks and
// starts another on the same master and Kubernetes API, as a restart after
// a crash: the new process reconciles and ends with one task per live pod
// and no task without a pod. A pod whose Binding the first process never
// wrote is bound to its task's node; a task whose pod was deleted, or
// marked Failed, while no framework ran is killed; a bound pod whose task never existed fails with
// TaskLost; a launch of a pod whose task already runs there is adopted
// without a second ACCEPT.
func TestFailoverReconciles(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cluster := startMesosSim(ctx, t, 1)
	target, _ := url.Parse(cluster.URL)
	counter := &acceptCounter{}
	proxy := httptest.NewServer(counter.handler(target))
	defer proxy.Close()

	kube := fake.NewClientset()
	kube.PrependReactor("create", "pods", bindingReactor(kube))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	const nodeName = "sim-agent-0"
	start := func() (*Framework, func()) {
		f, err := New(Config{MesosURL: proxy.URL, OfferHold: time.Hour, ExecutorURI: "http://127.0.0.1:1/kubemesos"}, kube, log)
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- f.Run(runCtx) }()
		select {
		case <-f.Ready():
		case err := <-done:
			t.Fatalf("run: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("no subscription")
		}
		poll(t, "the agent's offers", nil, 0, func() bool {
			_, ok := f.Offers().Available(nodeName, "*")
			return ok
		})
		return f, func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		}
	}
	getPod := func(name string) *corev1.Pod {
		p, err := kube.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil
		}
		return p
	}

	first, stop := start()
	bound, unbound, deleted, failed := testPod("bound", "bound"), testPod("unbound", "unbound"), testPod("deleted", "deleted"), testPod("failed", "failed")
	bound.Spec.NodeName, deleted.Spec.NodeName, failed.Spec.NodeName = nodeName, nodeName, nodeName
	for _, p := range []*corev1.Pod{bound, unbound, deleted, failed} {
		if _, err := kube.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		poll(t, "offers that fit "+p.Name, nil, 0, func() bool {
			return first.Offers().Reserve(nodeName, mesosoffers.PodClaim(p, "*")) == nil
		})
		if err := first.Offers().Launch(ctx, p, nodeName); err != nil {
			t.Fatalf("launch %s: %v", p.Name, err)
		}
	}
	poll(t, "four running tasks", nil, 0, func() bool {
		st := taskStates(t, cluster.URL)
		for _, p := range []*corev1.Pod{bound, unbound, deleted, failed} {
			if st[podtask.TaskID(p.UID)] != "TASK_RUNNING" {
				return false
			}
		}
		return true
	})
	poll(t, "the node object", nil, 0, func() bool {
		_, err := kube.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		return err == nil
	})
	stop()

	// While no framework runs: a pod is deleted, a pod is marked Failed
	// (by an operator or a controller) while its task runs, and a pod
	// appears bound to the node with no task (as if its ACCEPT never
	// reached the master).
	if err := kube.CoreV1().Pods("default").Delete(ctx, "deleted", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	failedNow := getPod("failed")
	failedNow.Status.Phase = corev1.PodFailed
	if _, err := kube.CoreV1().Pods("default").UpdateStatus(ctx, failedNow, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ghost := testPod("ghost", "ghost")
	ghost.Spec.NodeName = nodeName
	ghost.Status.Phase = corev1.PodRunning
	if _, err := kube.CoreV1().Pods("default").Create(ctx, ghost, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	accepts := len(counter.get())

	second, stop := start()
	defer stop()
	poll(t, "the unbound pod bound to its task's node and Running", nil, 0, func() bool {
		p := getPod("unbound")
		return p != nil && p.Spec.NodeName == nodeName && p.Status.Phase == corev1.PodRunning
	})
	poll(t, "the bound pod Running", nil, 0, func() bool {
		p := getPod("bound")
		return p != nil && p.Status.Phase == corev1.PodRunning
	})
	poll(t, "the deleted pod's task killed", nil, 0, func() bool {
		return taskStates(t, cluster.URL)[podtask.TaskID(deleted.UID)] == "TASK_KILLED"
	})
	poll(t, "the Failed pod's task killed", nil, 0, func() bool {
		return taskStates(t, cluster.URL)[podtask.TaskID(failed.UID)] == "TASK_KILLED"
	})
	if p := getPod("failed"); p == nil || p.Status.Phase != corev1.PodFailed {
		t.Errorf("the Failed pod after its task was killed: %+v", p)
	}
	poll(t, "the pod without a task Failed", nil, 0, func() bool {
		p := getPod("ghost")
		return p != nil && p.Status.Phase == corev1.PodFailed && p.Status.Reason == status.ReasonTaskLost
	})

	// The scheduler retrying the unbound pod's launch on its task's node
	// adopts the task.
	if err := second.Offers().Launch(ctx, unbound, nodeName); err != nil {
		t.Fatalf("launch of a pod whose task runs: %v", err)
	}
	if got := len(counter.get()); got != accepts {
		t.Errorf("%d ACCEPTs after the restart, want none", got-accepts)
	}
	if st := taskStates(t, cluster.URL)[podtask.TaskID(unbound.UID)]; st != "TASK_RUNNING" {
		t.Errorf("adopted task is %s, want TASK_RUNNING", st)
	}
}
