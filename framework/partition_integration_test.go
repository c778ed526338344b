package framework

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubemesos/kubemesos/framework/node"
	"github.com/kubemesos/kubemesos/framework/status"
	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// TestUnreachableAgentTaintsItsNode partitions an agent that runs a pod
// (mesos-sim marks it unreachable): the pod turns not Ready, and the node
// NotReady with the standard unreachable NoExecute taint, which the taint
// manager acts on; the node stays. A pod deleted meanwhile has a task no
// KILL can reach: it is not killed over and over, but once the agent heals
// (re-registers with its tasks), which also makes the node Ready again
// without the taint and the first pod Ready with its task untouched. An
// agent the operator marks gone fails its pods at once (TaskLost) and its
// node is deleted.
func TestUnreachableAgentTaintsItsNode(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cluster := startMesosSim(ctx, t, 2)
	kube := fake.NewClientset()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	f, err := New(Config{MesosURL: cluster.URL, OfferHold: time.Hour, ExecutorURI: "http://127.0.0.1:1/kubemesos"}, kube, log)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	const nodeName = "sim-agent-0"
	poll(t, "offers that fit the pod", nil, 0, func() bool {
		_, ok := f.Offers().Available(nodeName, "*")
		return ok
	})
	run := func(name, nodeName string) {
		pod := testPod(name, name)
		pod.Spec.NodeName = nodeName
		if _, err := kube.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		poll(t, "reserve", nil, 0, func() bool { return f.Offers().Reserve(nodeName, mesosoffers.PodClaim(pod, "*")) == nil })
		if err := f.Offers().Launch(ctx, pod, nodeName); err != nil {
			t.Fatal(err)
		}
	}
	const goneNode = "sim-agent-1"
	run("p", nodeName)
	run("orphan", nodeName)
	run("q", goneNode)
	getNode := func() *corev1.Node {
		n, err := kube.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return nil
		}
		return n
	}
	hasTaint := func(n *corev1.Node) bool {
		for _, tn := range n.Spec.Taints {
			if tn.Key == node.UnreachableTaint.Key && tn.Effect == node.UnreachableTaint.Effect && tn.TimeAdded != nil {
				return true
			}
		}
		return false
	}
	ready := func(n *corev1.Node) corev1.ConditionStatus {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status
			}
		}
		return ""
	}
	reachable := func() bool {
		n := getNode()
		for _, name := range []string{"p", "orphan"} {
			p, err := kube.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil || p.Status.Phase != corev1.PodRunning {
				return false
			}
		}
		return n != nil && ready(n) == corev1.ConditionTrue && !hasTaint(n)
	}
	poll(t, "pods Running and node Ready without the taint", nil, 0, reachable)
	orphan, err := kube.CoreV1().Pods("default").Get(ctx, "orphan", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	orphanTask := "pod-" + string(orphan.UID)
	taskState := func(id string) string {
		for _, fw := range readState(t, cluster.URL).Frameworks {
			for _, tk := range fw.Tasks {
				if tk.ID == id {
					return tk.State
				}
			}
			for _, tk := range append(fw.CompletedTasks, fw.UnreachableTasks...) {
				if tk.ID == id {
					return tk.State
				}
			}
		}
		return ""
	}
	agentID, _ := f.pool.AgentOf(nodeName)
	if err := cluster.Master.MarkUnreachable(agentID); err != nil {
		t.Fatal(err)
	}
	poll(t, "node NotReady with the unreachable taint", nil, 0, func() bool {
		n := getNode()
		return n != nil && ready(n) == corev1.ConditionUnknown && hasTaint(n)
	})
	poll(t, "pod not Ready", nil, 0, func() bool {
		p, err := kube.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				return c.Status == corev1.ConditionFalse
			}
		}
		return false
	})

	if _, err := kube.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{}); err != nil {
		t.Errorf("the unreachable agent's node: %v, want it kept", err)
	}

	// The pod goes while its agent is away: the KILL cannot reach the task.
	if err := kube.CoreV1().Pods("default").Delete(ctx, "orphan", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	kills := func() float64 { return masterMetric(t, cluster.URL, "master/messages_kill_task") }
	poll(t, "the KILL of the deleted pod's task", nil, 0, func() bool { return kills() >= 1 })
	if got := taskState(orphanTask); got != "TASK_UNREACHABLE" {
		t.Fatalf("task of the pod deleted during the partition is %q, want TASK_UNREACHABLE", got)
	}
	// Heal: the agent re-registers with its tasks.
	resp, err := http.Post(cluster.URL+"/sim/v1/agents/"+agentID+"/heal", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("heal: %s", resp.Status)
	}
	if n := kills(); n > 3 {
		t.Errorf("%v KILLs sent for the one task of a pod deleted while its agent was unreachable: the framework kills an unreachable task over and over", n)
	}
	poll(t, "the deleted pod's task killed once its agent is back", nil, 0, func() bool { return taskState(orphanTask) == "TASK_KILLED" })
	poll(t, "node Ready without the taint, pod p Ready", nil, 0, func() bool {
		n := getNode()
		p, err := kube.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		if err != nil || n == nil || ready(n) != corev1.ConditionTrue || hasTaint(n) {
			return false
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				return c.Status == corev1.ConditionTrue
			}
		}
		return false
	})
	pod, _ := kube.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
	if got := taskState("pod-" + string(pod.UID)); got != "TASK_RUNNING" {
		t.Errorf("task of pod p after the heal is %q, want the same task TASK_RUNNING", got)
	}

	poll(t, "pod q Running", nil, 0, func() bool {
		p, err := kube.CoreV1().Pods("default").Get(ctx, "q", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning
	})
	goneID, _ := f.pool.AgentOf(goneNode)
	if err := cluster.Master.MarkGone(goneID); err != nil {
		t.Fatal(err)
	}
	poll(t, "pod q Failed with TaskLost", nil, 0, func() bool {
		p, err := kube.CoreV1().Pods("default").Get(ctx, "q", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodFailed && p.Status.Reason == status.ReasonTaskLost
	})
	poll(t, "the gone agent's node deleted", nil, 0, func() bool {
		_, err := kube.CoreV1().Nodes().Get(ctx, goneNode, metav1.GetOptions{})
		return err != nil
	})
}

// masterMetric reads one value of the master's /metrics/snapshot.
func masterMetric(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]float64
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m[name]
}
