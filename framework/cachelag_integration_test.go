package framework

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/kubemesos/kubemesos/framework/podtask"
	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// TestLaggingPodCacheKeepsTask launches a pod that the framework's own
// informer never sees (its watch events are held back, as when the API
// server drops a slow watch and the informer relists), while kube-scheduler,
// whose cache is ahead, has bound it. The task's updates must find the pod
// in the API server and run it, not take it for a task without a pod and
// kill it (which lost 5 of 10,000 pods in a benchmark run).
func TestLaggingPodCacheKeepsTask(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cluster := startMesosSim(ctx, t, 1)

	const hidden = "unseen"
	kube := fake.NewClientset()
	pods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	kube.PrependWatchReactor("pods", func(action k8stesting.Action) (bool, watch.Interface, error) {
		w, err := kube.Tracker().Watch(pods, action.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		return true, watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
			p, ok := e.Object.(*corev1.Pod)
			return e, !ok || p.Name != hidden
		}), nil
	})
	clk := testingclock.NewFakeClock(time.Now())
	f, err := New(Config{MesosURL: cluster.URL, OfferHold: time.Hour, ExecutorURI: "http://127.0.0.1:1/kubemesos"},
		kube, slog.New(slog.NewTextHandler(io.Discard, nil)), WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- f.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	select {
	case <-f.Ready():
	case err := <-runErr:
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("framework did not subscribe")
	}
	o := f.Offers()
	const nodeName = "sim-agent-0"
	poll(t, "the agent's offer", clk, 0, func() bool {
		av, ok := o.Available(nodeName, "*")
		return ok && av.CPUs >= 1
	})

	pod := testPod(hidden, "unseen")
	pod.Spec.NodeName = nodeName // bound, as the plugin binds it after Launch
	if _, err := kube.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := o.Reserve(nodeName, mesosoffers.PodClaim(pod, "*")); err != nil {
		t.Fatal(err)
	}
	launched := make(chan error, 1)
	go func() { launched <- o.Launch(ctx, pod, nodeName) }()
	poll(t, "the launch queued", clk, 0, func() bool {
		f.batchMu.Lock()
		defer f.batchMu.Unlock()
		return len(f.batches[nodeName]) == 1
	})
	clk.Step(DefaultLaunchWindow)
	if err := <-launched; err != nil {
		t.Fatalf("launch: %v", err)
	}

	poll(t, "the pod Running from its task's update", clk, 0, func() bool {
		cur, err := kube.CoreV1().Pods("default").Get(ctx, hidden, metav1.GetOptions{})
		return err == nil && cur.Status.Phase == corev1.PodRunning
	})
	if p, _ := f.podIndex.ByIndex(uidIndex, string(pod.UID)); len(p) != 0 {
		t.Fatal("the informer saw the pod: the test does not exercise a lagging cache")
	}
	for _, fw := range readState(t, cluster.URL).Frameworks {
		for _, tk := range fw.Tasks {
			if tk.ID == podtask.TaskID(pod.UID) && tk.State != "TASK_RUNNING" {
				t.Errorf("task %s is %s, want TASK_RUNNING (not killed)", tk.ID, tk.State)
			}
		}
		for _, tk := range fw.CompletedTasks {
			if tk.ID == podtask.TaskID(pod.UID) {
				t.Errorf("task %s ended %s: the pod's task was killed for a pod the cache lacked", tk.ID, tk.State)
			}
		}
	}
}

// TestStatusWaitsForBinding launches an unbound pod, as the plugin does
// (ACCEPT first, Binding after): the task runs at once, but its status is
// written only once the pod shows bound, as a kubelet only writes the
// status of pods bound to it (a write racing the Binding is applied twice
// by the API server).
func TestStatusWaitsForBinding(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cluster := startMesosSim(ctx, t, 1)
	kube := fake.NewClientset()
	clk := testingclock.NewFakeClock(time.Now())
	f, err := New(Config{MesosURL: cluster.URL, OfferHold: time.Hour, ExecutorURI: "http://127.0.0.1:1/kubemesos"},
		kube, slog.New(slog.NewTextHandler(io.Discard, nil)), WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- f.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	select {
	case <-f.Ready():
	case err := <-runErr:
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("framework did not subscribe")
	}
	o := f.Offers()
	const nodeName = "sim-agent-0"
	poll(t, "the agent's offer", clk, 0, func() bool {
		av, ok := o.Available(nodeName, "*")
		return ok && av.CPUs >= 1
	})
	pod := testPod("late-binding", "late")
	pod.Status.Phase = corev1.PodPending // as the API server creates it
	if _, err := kube.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the pod in the framework's cache", clk, 0, func() bool {
		p, _ := f.podIndex.ByIndex(uidIndex, string(pod.UID))
		return len(p) == 1
	})
	if err := o.Reserve(nodeName, mesosoffers.PodClaim(pod, "*")); err != nil {
		t.Fatal(err)
	}
	launched := make(chan error, 1)
	go func() { launched <- o.Launch(ctx, pod, nodeName) }()
	poll(t, "the launch queued", clk, 0, func() bool {
		f.batchMu.Lock()
		defer f.batchMu.Unlock()
		return len(f.batches[nodeName]) == 1
	})
	clk.Step(DefaultLaunchWindow)
	if err := <-launched; err != nil {
		t.Fatalf("launch: %v", err)
	}
	poll(t, "the task running in /master/state", clk, 0, func() bool {
		for _, fw := range readState(t, cluster.URL).Frameworks {
			for _, tk := range fw.Tasks {
				if tk.ID == podtask.TaskID(pod.UID) {
					return tk.State == "TASK_RUNNING"
				}
			}
		}
		return false
	})
	// The TASK_RUNNING has arrived; give its write a moment to go wrong.
	time.Sleep(200 * time.Millisecond)
	cur, err := kube.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cur.Status.Phase != corev1.PodPending {
		t.Fatalf("status written before the Binding: phase %q", cur.Status.Phase)
	}
	cur.Spec.NodeName = nodeName // the Binding
	if _, err := kube.CoreV1().Pods("default").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the pod Running once bound", clk, 0, func() bool {
		p, err := kube.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning
	})
}
