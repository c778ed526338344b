package framework

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/kubemesos/kubemesos/framework/node"
	"github.com/kubemesos/kubemesos/framework/podtask"
	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// acceptCounter is a reverse proxy in front of the master that counts the
// ACCEPT calls passing through and the tasks each one launches.
type acceptCounter struct {
	mu      sync.Mutex
	accepts [][]string // task IDs per ACCEPT
}

func (a *acceptCounter) handler(target *url.URL) http.Handler {
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/scheduler" && r.Header.Get("Content-Type") == "application/x-protobuf" {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var call scheduler.Call
			if err := call.Unmarshal(body); err == nil && call.GetType() == scheduler.Call_ACCEPT {
				var ids []string
				for _, op := range call.GetAccept().Operations {
					for _, ti := range op.GetLaunch().GetTaskInfos() {
						ids = append(ids, ti.TaskID.Value)
					}
				}
				a.mu.Lock()
				a.accepts = append(a.accepts, ids)
				a.mu.Unlock()
			}
		}
		proxy.ServeHTTP(w, r)
	})
}

func (a *acceptCounter) get() [][]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([][]string(nil), a.accepts...)
}

// poll calls cond until it holds, stepping the fake clock by step (if not
// zero) between tries; it fails the test after a generous deadline.
func poll(t *testing.T, what string, clk *testingclock.FakeClock, step time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		if step > 0 {
			clk.Step(step)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type masterState struct {
	Frameworks []struct {
		ID    string `json:"id"`
		Tasks []struct {
			ID      string `json:"id"`
			State   string `json:"state"`
			SlaveID string `json:"slave_id"`
		} `json:"tasks"`
		CompletedTasks []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"completed_tasks"`
		UnreachableTasks []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"unreachable_tasks"`
	} `json:"frameworks"`
}

func readState(t *testing.T, base string) masterState {
	t.Helper()
	resp, err := http.Get(base + "/master/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s masterState
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func testPod(name, uid string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: k8stypes.UID("uid-" + uid)},
		Spec: corev1.PodSpec{
			SchedulerName: corev1.DefaultSchedulerName,
			Containers: []corev1.Container{{
				Name: "main", Command: []string{"sleep", "1000"},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("500m"),
					corev1.ResourceMemory: resource.MustParse("128Mi"),
				}},
			}},
		},
	}
}

// TestFrameworkAgainstMesosSim runs the framework against an in-process
// mesos-sim master with two simulated agents and a fake Kubernetes API: it
// subscribes, the agents become nodes with their offered allocatable, two
// pods reserved and launched on one agent go out in one ACCEPT with two
// LAUNCHes, their tasks' updates reach the pods' status, and deleting a pod
// kills its task and removes the pod.
func TestFrameworkAgainstMesosSim(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cluster := startMesosSim(ctx, t, 2)
	target, _ := url.Parse(cluster.URL)
	counter := &acceptCounter{}
	proxy := httptest.NewServer(counter.handler(target))
	defer proxy.Close()

	kube := fake.NewClientset()
	clk := testingclock.NewFakeClock(time.Now())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	f, err := New(Config{
		MesosURL:    proxy.URL,
		OfferHold:   time.Hour,
		ExecutorURI: "http://127.0.0.1:1/kubemesos",
		KubeletHost: "127.0.0.1",
	}, kube, log, WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- f.Run(ctx) }()
	stop := sync.OnceValue(func() error {
		cancel()
		return <-runErr
	})
	defer stop()
	select {
	case <-f.Ready():
	case err := <-runErr:
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("framework did not subscribe")
	}

	// The framework ID is persisted for failover.
	cm, err := kube.CoreV1().ConfigMaps("kube-system").Get(ctx, FrameworkIDConfigMap, metav1.GetOptions{})
	if err != nil || cm.Data["frameworkID"] != f.FrameworkID() || f.FrameworkID() == "" {
		t.Fatalf("framework ID configmap = %v, %v; framework ID %q", cm, err, f.FrameworkID())
	}

	// Both agents offer and become nodes with their offers as allocatable,
	// less the executor the first pod starts.
	o := f.Offers()
	nodes := []string{"sim-agent-0", "sim-agent-1"}
	poll(t, "offers of both agents", clk, 0, func() bool {
		for _, n := range nodes {
			if av, ok := o.Available(n, "*"); !ok || av.CPUs < 4 {
				return false
			}
		}
		return true
	})
	poll(t, "nodes", clk, 250*time.Millisecond, func() bool {
		for _, n := range nodes {
			obj, err := kube.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false
			}
			cpu := obj.Status.Allocatable[corev1.ResourceCPU]
			if cpu.MilliValue() != 3900 || obj.Labels[node.LabelAgentID] == "" {
				return false
			}
		}
		return true
	})
	av, _ := o.Available(nodes[0], "*")
	if av.Executor.CPUs != 0.1 || av.Executor.MemMiB != 64 {
		t.Errorf("executor overhead on a fresh agent = %+v, want cpus 0.1 mem 64", av.Executor)
	}

	// Two pods, reserved and launched on one agent, go out in one ACCEPT.
	// They are created bound, as the plugin binds them right after Launch
	// (a fake clientset would let a later Update overwrite their status).
	pods := []*corev1.Pod{testPod("a", "a"), testPod("b", "b")}
	for _, p := range pods {
		p.Spec.NodeName = nodes[0]
		if _, err := kube.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := o.Reserve(nodes[0], mesosoffers.PodClaim(p, "*")); err != nil {
			t.Fatalf("reserve %s: %v", p.Name, err)
		}
	}
	av, _ = o.Available(nodes[0], "*")
	if av.CPUs > 4-1-0.1+1e-6 || av.Executor.CPUs != 0 {
		t.Errorf("after two claims the agent offers %+v, want at most 2.9 cpus and no executor overhead", av)
	}
	errs := make(chan error, len(pods))
	for _, p := range pods {
		go func() { errs <- o.Launch(ctx, p, nodes[0]) }()
	}
	poll(t, "both launches queued", clk, 0, func() bool {
		f.batchMu.Lock()
		defer f.batchMu.Unlock()
		return len(f.batches[nodes[0]]) == len(pods)
	})
	clk.Step(DefaultLaunchWindow)
	for range pods {
		if err := <-errs; err != nil {
			t.Fatalf("launch: %v", err)
		}
	}
	accepts := counter.get()
	if len(accepts) != 1 || len(accepts[0]) != 2 {
		t.Fatalf("ACCEPT calls = %v, want one with two tasks", accepts)
	}

	// The tasks' updates reach the pods.
	poll(t, "tasks running in /master/state", clk, 0, func() bool {
		running := 0
		for _, fw := range readState(t, cluster.URL).Frameworks {
			for _, tk := range fw.Tasks {
				if tk.State == "TASK_RUNNING" && (tk.ID == podtask.TaskID(pods[0].UID) || tk.ID == podtask.TaskID(pods[1].UID)) {
					running++
				}
			}
		}
		return running == 2
	})
	poll(t, "pods running", clk, 0, func() bool {
		for _, p := range pods {
			cur, err := kube.CoreV1().Pods("default").Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil || cur.Status.Phase != corev1.PodRunning || cur.Status.StartTime == nil {
				return false
			}
		}
		return true
	})
	// Allocatable counts the pods and the executor's share is not taken
	// twice: the same as before the launch.
	poll(t, "node allocatable counting the pods", clk, 250*time.Millisecond, func() bool {
		id, _ := f.pool.AgentOf(nodes[0])
		a, _ := f.pool.Agent(id)
		obj, err := kube.CoreV1().Nodes().Get(ctx, nodes[0], metav1.GetOptions{})
		if err != nil || !a.Executor || a.Used.CPUs < 0.999 {
			return false
		}
		cpu := obj.Status.Allocatable[corev1.ResourceCPU]
		return cpu.MilliValue() == 3900
	})

	// A graceful deletion kills the task; once killed the pod is removed.
	cur, _ := kube.CoreV1().Pods("default").Get(ctx, "a", metav1.GetOptions{})
	now := metav1.Now()
	grace := int64(3)
	cur.DeletionTimestamp, cur.DeletionGracePeriodSeconds = &now, &grace
	if _, err := kube.CoreV1().Pods("default").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "deleted pod removed", clk, 0, func() bool {
		_, err := kube.CoreV1().Pods("default").Get(ctx, "a", metav1.GetOptions{})
		return err != nil
	})
	poll(t, "task killed in /master/state", clk, 0, func() bool {
		for _, fw := range readState(t, cluster.URL).Frameworks {
			for _, tk := range fw.Tasks {
				if tk.ID == podtask.TaskID(pods[0].UID) {
					return tk.State == "TASK_KILLED"
				}
			}
			for _, tk := range fw.CompletedTasks {
				if tk.ID == podtask.TaskID(pods[0].UID) {
					return tk.State == "TASK_KILLED"
				}
			}
		}
		return false
	})
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
}
