package kubescheduler

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubemesos/kubemesos/controlplane"
	"github.com/kubemesos/kubemesos/controlplane/datadir"
	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// fakeOffers is what the framework would offer: each node's agent offers
// some cpus; "plain" is not a Mesos agent. It records claims and launches.
type fakeOffers struct {
	mu       sync.Mutex
	cpus     map[string]float64
	claims   map[types.UID]string
	launched map[string]string // pod -> node
}

func (f *fakeOffers) Available(node, _ string) (mesosoffers.Available, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cpus, ok := f.cpus[node]
	if !ok {
		return mesosoffers.Available{}, false
	}
	return mesosoffers.Available{Resources: mesosoffers.Resources{CPUs: cpus, MemMiB: 8192, DiskMiB: 8192}, Agent: "agent-of-" + node}, true
}

func (f *fakeOffers) Reserve(node string, c mesosoffers.Claim) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cpus[node] < c.CPUs {
		return fmt.Errorf("%s has %v cpus left, claim wants %v", node, f.cpus[node], c.CPUs)
	}
	f.cpus[node] -= c.CPUs
	f.claims[c.Pod] = node
	return nil
}

func (f *fakeOffers) Unreserve(node string, pod types.UID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.claims, pod)
}

func (f *fakeOffers) Launch(_ context.Context, pod *v1.Pod, node string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.claims[pod.UID] != node {
		return fmt.Errorf("pod %s has no claim on %s", pod.Name, node)
	}
	f.launched[pod.Name] = node
	return nil
}

// The stock kube-scheduler runs in-process against a real kube-apiserver
// with the MesosOffers plugin enabled at every point it implements and as
// the binder: pods land only where an agent offers enough (even though
// every node's allocatable would take them), each launch follows a claim,
// the default plugins still apply, and a pod no offer can hold stays
// Pending with the plugin's explanation. The plugin filters first: a node
// that both it and a default plugin reject is counted under its reason.
func TestSchedulerRunsMesosOffersPlugin(t *testing.T) {
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

	// Every node's allocatable has room; only "chosen" has offers for two
	// pods of 2 cpus, "small" offers 1 cpu, "plain" is no agent.
	for _, name := range []string{"small", "chosen", "plain"} {
		node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: v1.NodeStatus{
			Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("8"), v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("110")},
			Capacity:    v1.ResourceList{v1.ResourceCPU: resource.MustParse("8"), v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("110")},
			Conditions:  []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
		}}
		if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	offers := &fakeOffers{cpus: map[string]float64{"small": 1, "chosen": 4}, claims: map[types.UID]string{}, launched: map[string]string{}}
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, Config{
			Kubeconfig: cp.Kubeconfig(), Dir: t.TempDir(), SchedulerName: "test-scheduler",
			Plugins: []Plugin{{Name: mesosoffers.Name, Factory: mesosoffers.NewFactory(offers), Binder: true, FilterFirst: true,
				Args: mesosoffers.Args{ScoringStrategy: "BinPacking", DefaultRole: "*"}}},
		})
	}()

	for i, cpu := range []string{"2", "2", "16"} {
		pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p" + strconv.Itoa(i)}, Spec: v1.PodSpec{
			SchedulerName: "test-scheduler",
			Containers: []v1.Container{{Name: "c", Image: "none", Command: []string{"sleep", "1"}, Resources: v1.ResourceRequirements{
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
				t.Fatalf("pods bound to %q and %q, want the only node whose offers hold them", p0.Spec.NodeName, p1.Spec.NodeName)
			}
			// p2's 16 cpus are more than any node's allocatable too, but
			// MesosOffers' Filter, first, rejects every node.
			msg := scheduledMessage(p2)
			if !strings.Contains(msg, "2 insufficient cpus offered in role *") || !strings.Contains(msg, "1 not a Mesos agent of this framework") {
				t.Errorf("the unschedulable pod's PodScheduled message does not count the nodes under MesosOffers' reasons: %q", msg)
			}
			if strings.Contains(msg, "Insufficient cpu") {
				t.Errorf("NodeResourcesFit filtered before MesosOffers: %q", msg)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pods not scheduled as expected within 60s: p0=%v p1=%v p2=%v", nodeOf(p0), nodeOf(p1), nodeOf(p2))
		}
		time.Sleep(100 * time.Millisecond)
	}
	offers.mu.Lock()
	if offers.launched["p0"] != "chosen" || offers.launched["p1"] != "chosen" || len(offers.launched) != 2 {
		t.Errorf("launched %v, want p0 and p1 on chosen (the plugin binds, not the DefaultBinder)", offers.launched)
	}
	offers.mu.Unlock()

	// kube-scheduler's metrics, for the framework's /metrics: its own
	// families only, with the attempts just made.
	families, err := Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	attempts := 0.0
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "scheduler_") {
			t.Errorf("Metrics gathers %s, not kube-scheduler's", f.GetName())
		}
		if f.GetName() == "scheduler_schedule_attempts_total" {
			for _, m := range f.GetMetric() {
				attempts += m.GetCounter().GetValue()
			}
		}
	}
	if attempts < 3 {
		t.Errorf("scheduler_schedule_attempts_total = %v, want at least the 3 pods' attempts", attempts)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
}

func scheduledMessage(p *v1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodScheduled {
			return c.Message
		}
	}
	return ""
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
