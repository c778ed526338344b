package kubescheduler

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/kubemesos/kubemesos/controlplane"
	"github.com/kubemesos/kubemesos/controlplane/datadir"
)

// onlyNodePlugin is a test plugin: it filters every node but the one named
// in its args, and binds pods itself, recording them.
type onlyNodePlugin struct {
	node   string
	client kubernetes.Interface
	mu     *sync.Mutex
	bound  map[string]string
}

func (p *onlyNodePlugin) Name() string { return "OnlyNode" }

func (p *onlyNodePlugin) Filter(_ context.Context, _ fwk.CycleState, _ *v1.Pod, n fwk.NodeInfo) *fwk.Status {
	if n.Node().Name != p.node {
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, "not the node of the test")
	}
	return nil
}

func (p *onlyNodePlugin) Bind(ctx context.Context, _ fwk.CycleState, pod *v1.Pod, node string) *fwk.Status {
	p.mu.Lock()
	p.bound[pod.Name] = node
	p.mu.Unlock()
	err := p.client.CoreV1().Pods(pod.Namespace).Bind(ctx, &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     v1.ObjectReference{Kind: "Node", Name: node},
	}, metav1.CreateOptions{})
	if err != nil {
		return fwk.AsStatus(err)
	}
	return nil
}

var (
	_ fwk.FilterPlugin = &onlyNodePlugin{}
	_ fwk.BindPlugin   = &onlyNodePlugin{}
)

type onlyNodeArgs struct {
	Node string `json:"node"`
}

// The scheduler runs in-process against a real kube-apiserver, enables the
// out-of-tree plugin at Filter and Bind (in place of DefaultBinder), hands it
// its args, and keeps the default plugins (NodeResourcesFit rejects the
// node that is too small even though the test plugin would accept it).
func TestSchedulerRunsOutOfTreePluginAsFilterAndBinder(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	layout := datadir.Layout{Dir: t.TempDir()}
	if err := layout.Prepare(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	cp, err := controlplane.Start(ctx, controlplane.Config{Layout: layout, Address: "127.0.0.1", APIPort: port, APIListener: ln})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cp.Stop(context.Background()) }()
	client := kubernetes.NewForConfigOrDie(cp.RESTConfig())

	for name, cpus := range map[string]string{"small": "1", "chosen": "4", "other": "8"} {
		node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: v1.NodeStatus{
			Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpus), v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("110")},
			Capacity:    v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpus), v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("110")},
			Conditions:  []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
		}}
		if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	bound := map[string]string{}
	factory := func(_ context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
		var args onlyNodeArgs
		if u, ok := obj.(*runtime.Unknown); ok {
			if err := json.Unmarshal(u.Raw, &args); err != nil {
				return nil, err
			}
		}
		return &onlyNodePlugin{node: args.Node, client: h.ClientSet(), mu: &mu, bound: bound}, nil
	}
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, Config{
			Kubeconfig: cp.Kubeconfig(), Dir: t.TempDir(), SchedulerName: "test-scheduler",
			Plugins: []Plugin{{Name: "OnlyNode", Factory: factory, Args: onlyNodeArgs{Node: "chosen"}, Binder: true}},
		})
	}()

	for i, cpu := range []string{"2", "2", "16"} {
		pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p" + strconv.Itoa(i)}, Spec: v1.PodSpec{
			SchedulerName: "test-scheduler",
			Containers: []v1.Container{{Name: "c", Image: "none", Resources: v1.ResourceRequirements{
				Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}}}},
		}}
		if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-errc:
			t.Fatalf("scheduler ended: %v", err)
		default:
		}
		p0, _ := client.CoreV1().Pods("default").Get(ctx, "p0", metav1.GetOptions{})
		p1, _ := client.CoreV1().Pods("default").Get(ctx, "p1", metav1.GetOptions{})
		p2, _ := client.CoreV1().Pods("default").Get(ctx, "p2", metav1.GetOptions{})
		if p0 != nil && p1 != nil && p2 != nil && p0.Spec.NodeName != "" && p1.Spec.NodeName != "" && unschedulable(p2) {
			if p0.Spec.NodeName != "chosen" || p1.Spec.NodeName != "chosen" {
				t.Fatalf("pods bound to %q and %q, want the test plugin's node", p0.Spec.NodeName, p1.Spec.NodeName)
			}
			if p2.Spec.NodeName != "" {
				t.Fatalf("a pod too large for the chosen node was bound to %s", p2.Spec.NodeName)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pods not scheduled as expected within 60s: p0=%v p1=%v p2=%v", nodeOf(p0), nodeOf(p1), nodeOf(p2))
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if bound["p0"] != "chosen" || bound["p1"] != "chosen" || len(bound) != 2 {
		t.Errorf("the test plugin bound %v, want p0 and p1 on chosen (the DefaultBinder must not run)", bound)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
}

func unschedulable(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable {
			return true
		}
	}
	return false
}

func nodeOf(p *v1.Pod) string {
	if p == nil {
		return "<missing>"
	}
	return p.Spec.NodeName
}

func TestRunRefusesIncompleteConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no kubeconfig":          {Dir: t.TempDir()},
		"no dir":                 {Kubeconfig: "k"},
		"plugin without factory": {Kubeconfig: "k", Dir: t.TempDir(), Plugins: []Plugin{{Name: "X"}}},
	} {
		if err := Run(context.Background(), cfg); err == nil {
			t.Errorf("%s: Run succeeded", name)
		}
	}
}
