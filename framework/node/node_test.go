package node

import (
	"runtime"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"Agent-1.Example.COM":    "agent-1.example.com",
		"host_name":              "host-name",
		"-x-.-y-":                "x.y",
		"":                       "agent",
		"!!!":                    "agent",
		strings.Repeat("a", 300): strings.Repeat("a", 63),
	} {
		got := Sanitize(in)
		if got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
		if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
			t.Errorf("Sanitize(%q) = %q is no DNS-1123 subdomain: %v", in, got, errs)
		}
	}
	for _, in := range []string{"rack 1", "a/b", strings.Repeat("x", 100), "-edge-"} {
		if errs := validation.IsValidLabelValue(LabelValue(in)); len(errs) > 0 {
			t.Errorf("LabelValue(%q) = %q: %v", in, LabelValue(in), errs)
		}
	}
}

func TestNamerSharedHosts(t *testing.T) {
	n := NewNamer()
	n.Known("old", "host-b")
	a := n.Name("S1", "Host-A")
	b := n.Name("S2", "host-a")
	if a != "host-a" || b != "host-a-"+Suffix("S2") {
		t.Fatalf("names %q %q", a, b)
	}
	if again := n.Name("S2", "host-a"); again != b {
		t.Fatalf("name not stable: %q then %q", b, again)
	}
	if c := n.Name("S3", "host-b"); c == "host-b" {
		t.Fatalf("an existing node's name was given to another agent: %q", c)
	}
	if old := n.Name("old", "whatever"); old != "host-b" {
		t.Fatalf("known agent renamed: %q", old)
	}
	n.Forget("S1")
	if c := n.Name("S4", "host-a"); c != "host-a" {
		t.Fatalf("freed name not reused: %q", c)
	}
}

func TestBuild(t *testing.T) {
	region, zone := "eu", "eu-1"
	a := Agent{
		ID: "M-S1", Name: "agent-1", Hostname: "agent-1.example",
		Attributes: []mesos.Attribute{
			{Name: "rack", Type: mesos.TEXT, Text: &mesos.Value_Text{Value: "r1"}},
			{Name: "gpus", Type: mesos.SCALAR, Scalar: &mesos.Value_Scalar{Value: 2}},
		},
		Domain:  &mesos.DomainInfo{FaultDomain: &mesos.DomainInfo_FaultDomain{Region: mesos.DomainInfo_FaultDomain_RegionInfo{Name: region}, Zone: mesos.DomainInfo_FaultDomain_ZoneInfo{Name: zone}}},
		Offered: mesosoffers.Resources{CPUs: 2.5, MemMiB: 1024, DiskMiB: 100},
		Used:    mesosoffers.Resources{CPUs: 1, MemMiB: 512},
		Ready:   true,
	}
	taint := &corev1.Taint{Key: "kubemesos.io/mesos", Effect: corev1.TaintEffectNoSchedule}
	n := Build(a, Config{KubeletHost: "10.0.0.1", KubeletPort: 10250, Taint: taint, Version: "v9"}, metav1.Now())
	for k, v := range map[string]string{
		corev1.LabelHostname:          "agent-1",
		corev1.LabelOSStable:          "linux",
		corev1.LabelArchStable:        runtime.GOARCH,
		LabelAgentID:                  "M-S1",
		LabelAttributePrefix + "rack": "r1",
		LabelAttributePrefix + "gpus": "2",
		corev1.LabelTopologyRegion:    "eu",
		corev1.LabelTopologyZone:      "eu-1",
	} {
		if n.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, n.Labels[k], v)
		}
	}
	cpu := n.Status.Allocatable[corev1.ResourceCPU]
	mem := n.Status.Allocatable[corev1.ResourceMemory]
	if cpu.MilliValue() != 3500 || mem.Value() != 1536<<20 {
		t.Errorf("allocatable cpu %v mem %v", cpu.String(), mem.String())
	}
	if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != taint.Key {
		t.Errorf("taints = %v", n.Spec.Taints)
	}
	if n.Status.DaemonEndpoints.KubeletEndpoint.Port != 10250 || n.Status.Addresses[0].Address != "10.0.0.1" {
		t.Errorf("endpoint %+v addresses %+v", n.Status.DaemonEndpoints, n.Status.Addresses)
	}
	if n.Status.NodeInfo.KubeletVersion != KubeletVersion || n.Status.NodeInfo.ContainerRuntimeVersion != "kubemesos://v9" {
		t.Errorf("node info = %+v", n.Status.NodeInfo)
	}
	if ReadyStatus(n) != corev1.ConditionTrue {
		t.Errorf("ready = %v", ReadyStatus(n))
	}
	if len(n.Spec.Taints) != 1 || n.Spec.Taints[0] != *taint {
		t.Errorf("ready node's taints = %v, want only %v", n.Spec.Taints, *taint)
	}
	a.Ready = false
	unready := Build(a, Config{}, metav1.Now())
	if ReadyStatus(unready) != corev1.ConditionUnknown {
		t.Error("unready agent's node is not NotReady")
	}
	if len(unready.Spec.Taints) != 1 || unready.Spec.Taints[0] != UnreachableTaint {
		t.Errorf("unready node's taints = %v, want %s:NoExecute", unready.Spec.Taints, corev1.TaintNodeUnreachable)
	}
}

func TestWriterBoundsWrites(t *testing.T) {
	w := NewWriter(time.Second, time.Minute)
	t0 := time.Unix(0, 0)
	base := Build(Agent{ID: "a", Name: "n", Offered: mesosoffers.Resources{CPUs: 1}, Ready: true}, Config{}, metav1.NewTime(t0))
	more := Build(Agent{ID: "a", Name: "n", Offered: mesosoffers.Resources{CPUs: 2}, Ready: true}, Config{}, metav1.NewTime(t0))
	steps := []struct {
		node       *corev1.Node
		after      time.Duration
		want, held bool
	}{
		{base, 0, true, false},                      // never written
		{more, 100 * time.Millisecond, false, true}, // changed, but too soon
		{base, 2 * time.Second, false, false},       // unchanged
		{more, 2 * time.Second, true, false},        // changed, interval passed
		{more, 2 * time.Minute, true, false},        // refresh
	}
	if _, ok := w.WrittenAt("n"); ok {
		t.Fatal("WrittenAt of a node never written")
	}
	for i, s := range steps {
		now := t0.Add(s.after)
		if got := w.Due(s.node, now); got != s.want {
			t.Fatalf("step %d: Due = %v, want %v", i, got, s.want)
		}
		if got := w.Held(s.node, now); got != s.held {
			t.Fatalf("step %d: Held = %v, want %v", i, got, s.held)
		}
		if i == 0 || i == 3 {
			w.Wrote(s.node, now)
			if at, ok := w.WrittenAt("n"); !ok || !at.Equal(now) {
				t.Fatalf("step %d: WrittenAt = %v, %v", i, at, ok)
			}
		}
	}
}

// TestWriterExpire: a node whose copy on the API server another writer
// changed is due at once, and Last is what was written.
func TestWriterExpire(t *testing.T) {
	w := NewWriter(time.Second, time.Minute)
	t0 := time.Unix(0, 0)
	n := Build(Agent{ID: "a", Name: "n", Ready: true}, Config{}, metav1.NewTime(t0))
	w.Expire("n") // never written: nothing to expire
	if _, ok := w.Last("n"); ok {
		t.Fatal("Last of a node never written")
	}
	w.Wrote(n, t0)
	if w.Due(n, t0.Add(2*time.Second)) {
		t.Fatal("an unchanged node is due before its refresh")
	}
	w.Expire("n")
	if !w.Due(n, t0.Add(2*time.Second)) {
		t.Error("an expired node is not due")
	}
	if last, ok := w.Last("n"); !ok || last != n {
		t.Errorf("Last = %v, %v", last, ok)
	}
	if _, ok := w.WrittenAt("n"); !ok {
		t.Error("an expired node no longer counts as written (its lease would stop)")
	}
}

// TestBuildCapacityIsTotal: a node's capacity is its agent's total when
// known, its allocatable what is offered plus what our pods use.
func TestBuildCapacityIsTotal(t *testing.T) {
	n := Build(Agent{ID: "a", Name: "a", Offered: mesosoffers.Resources{CPUs: 1}, Used: mesosoffers.Resources{CPUs: 0.5},
		Total: mesosoffers.Resources{CPUs: 4, MemMiB: 1024}, Ready: true}, Config{}, metav1.Now())
	if c, a := n.Status.Capacity[corev1.ResourceCPU], n.Status.Allocatable[corev1.ResourceCPU]; c.MilliValue() != 4000 || a.MilliValue() != 1500 {
		t.Errorf("capacity %s, allocatable %s; want 4 and 1500m", c.String(), a.String())
	}
	n = Build(Agent{ID: "a", Name: "a", Offered: mesosoffers.Resources{CPUs: 2}, Ready: true}, Config{}, metav1.Now())
	if c := n.Status.Capacity[corev1.ResourceCPU]; c.MilliValue() != 2000 {
		t.Errorf("capacity with no total known %s, want the allocatable 2", c.String())
	}
}
