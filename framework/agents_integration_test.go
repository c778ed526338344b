package framework

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubemesos/kubemesos/framework/node"
	"github.com/kubemesos/kubemesos/mesos-sim/simagent"
	"github.com/kubemesos/kubemesos/mesos-sim/simtest"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// runFramework runs a framework on kube against the master at url until the
// test ends, and waits for its first subscription.
func runFramework(t *testing.T, cfg Config, kube kubernetes.Interface) *Framework {
	t.Helper()
	f, err := New(cfg, kube, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-f.Ready():
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no subscription within 30 s")
	}
	return f
}

// TestAgentGetsNodeWhileSuppressed: an agent that registers while the
// framework suppresses offers (no pod waits) gets its node at once, from
// the master's operator API, with its total resources as capacity.
func TestAgentGetsNodeWhileSuppressed(t *testing.T) {
	env := simtest.Start(t, simtest.Options{Agents: 1})
	kube := fake.NewClientset()
	f := runFramework(t, Config{MesosURL: env.URL}, kube)
	ctx := context.Background()
	// Suppressed is decided before the SUPPRESS reaches the master: wait
	// for the master to have taken it, or an agent added in between is
	// offered to us.
	poll(t, "offers suppressed", nil, 0, func() bool {
		f.demandMu.Lock()
		defer f.demandMu.Unlock()
		return f.demand.Suppressed(DefaultRole) && masterMetric(t, env.URL, "master/messages_suppress_offers") >= 1
	})
	res, err := spec.ParseResources("cpus:3;mem:3072;disk:1024;ports:[31000-31001]")
	if err != nil {
		t.Fatal(err)
	}
	late, err := env.Cluster.AddAgent(simagent.AgentSpec{Hostname: "late", Port: 5999, Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	var got *corev1.Node
	poll(t, "a node for the agent registered while suppressed", nil, 0, func() bool {
		nodes, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		for i := range nodes.Items {
			if nodes.Items[i].Labels[node.LabelAgentID] == node.LabelValue(late.ID()) {
				got = &nodes.Items[i]
				return true
			}
		}
		return false
	})
	f.demandMu.Lock()
	suppressed := f.demand.Suppressed(DefaultRole)
	f.demandMu.Unlock()
	if !suppressed {
		t.Fatal("the framework revived: the node may have come from an offer")
	}
	if c := got.Status.Capacity[corev1.ResourceCPU]; c.MilliValue() != 3000 {
		t.Errorf("node capacity cpu %s, want the agent's total 3", c.String())
	}
	if a := got.Status.Allocatable[corev1.ResourceCPU]; a.MilliValue() != 0 {
		t.Errorf("node allocatable cpu %s while nothing is offered, want 0", a.String())
	}
}

// TestNeverRunnablePodsFail: pods that can never run here fail before
// launch with a reason (a role the framework does not subscribe with, a
// host port no agent has), and a pod that merely waits does not.
func TestNeverRunnablePodsFail(t *testing.T) {
	env := simtest.Start(t, simtest.Options{Agents: 2, AgentResources: "cpus:1;mem:1024;ports:[31000-31010]"})
	kube := fake.NewClientset()
	// Every pod here would fit no agent's offers (4 CPUs): only the
	// refusals decide.
	big := func(name string) *corev1.Pod {
		p := testPod(name, name)
		p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("4")
		return p
	}
	waits := big("waits")
	waits.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 31005}}
	role := big("role")
	role.Annotations = map[string]string{mesosoffers.RoleAnnotation: "elsewhere"}
	port := big("port")
	port.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}, {ContainerPort: 81, HostPort: 31001}}
	ctx := context.Background()
	// The first pods exist before the framework starts: they are looked at
	// once the operator API's state is in.
	for _, p := range []*corev1.Pod{waits, role} {
		if _, err := kube.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	runFramework(t, Config{MesosURL: env.URL, Roles: []string{"*", "web"}}, kube)
	if _, err := kube.CoreV1().Pods("default").Create(ctx, port, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	failed := func(name, reason, message string) {
		t.Helper()
		poll(t, name+" failed with "+reason, nil, 0, func() bool {
			p, err := kube.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			return err == nil && p.Status.Phase == corev1.PodFailed && p.Status.Reason == reason && strings.Contains(p.Status.Message, message)
		})
	}
	failed("role", "UnknownRole", `Mesos role "elsewhere"`)
	failed("port", "HostPortUnavailable", "host port 8080 is in no registered Mesos agent's ports resource")
	p, err := kube.CoreV1().Pods("default").Get(ctx, "waits", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status.Phase == corev1.PodFailed {
		t.Fatalf("a pod that only waits for room failed: %s: %s", p.Status.Reason, p.Status.Message)
	}
}
