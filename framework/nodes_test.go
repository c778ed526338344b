package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	testingclock "k8s.io/utils/clock/testing"
)

// TestRenewLease checks that a node's lease is created once, then renewed
// with a write alone (no read first), and read afresh after a failed write.
func TestRenewLease(t *testing.T) {
	kube := fake.NewClientset()
	f, err := New(Config{MesosURL: "http://127.0.0.1:1"}, kube, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	conflictNext := false
	kube.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if conflictNext {
			conflictNext = false
			return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "n1", nil)
		}
		return false, nil, nil
	})
	verbs := func() []string {
		var out []string
		for _, a := range kube.Actions() {
			if a.GetResource().Resource == "leases" {
				out = append(out, a.GetVerb())
			}
		}
		kube.ClearActions()
		return out
	}
	ctx := context.Background()
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i, step := range []struct {
		conflict bool
		wantErr  bool
		want     []string
	}{
		{want: []string{"get", "create"}},
		{want: []string{"update"}},
		{want: []string{"update"}},
		{conflict: true, wantErr: true, want: []string{"update"}},
		{want: []string{"get", "update"}},
	} {
		conflictNext = step.conflict
		now := start.Add(time.Duration(i) * 10 * time.Second)
		err := f.nodes.renewLease(ctx, "n1", now)
		if (err != nil) != step.wantErr {
			t.Fatalf("renewal %d: err %v", i, err)
		}
		if got := verbs(); !slices.Equal(got, step.want) {
			t.Errorf("renewal %d: requests %v, want %v", i, got, step.want)
		}
		if step.wantErr {
			continue
		}
		l, err := kube.CoordinationV1().Leases(leaseNamespace).Get(ctx, "n1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		kube.ClearActions()
		if !l.Spec.RenewTime.Time.Equal(now) || *l.Spec.HolderIdentity != "n1" {
			t.Errorf("renewal %d: lease %+v", i, l.Spec)
		}
	}
}

// TestNodeStatusPatch checks that a node's status patch sets what changed
// and keeps what another writer set since the framework's last read.
func TestNodeStatusPatch(t *testing.T) {
	old := corev1.NodeStatus{
		Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
		Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
	}
	next := *old.DeepCopy()
	next.Allocatable[corev1.ResourceCPU] = resource.MustParse("3")
	server := *old.DeepCopy()
	server.Conditions = append(server.Conditions, corev1.NodeCondition{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse})

	patch, err := nodeStatusPatch(&old, &next)
	if err != nil {
		t.Fatal(err)
	}
	serverJSON, err := json.Marshal(corev1.Node{Status: server})
	if err != nil {
		t.Fatal(err)
	}
	out, err := strategicpatch.StrategicMergePatch(serverJSON, patch, corev1.Node{})
	if err != nil {
		t.Fatal(err)
	}
	var got corev1.Node
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if cpu := got.Status.Allocatable[corev1.ResourceCPU]; cpu.String() != "3" {
		t.Errorf("allocatable cpu %s, want 3 (patch %s)", cpu.String(), patch)
	}
	if len(got.Status.Conditions) != 2 {
		t.Errorf("conditions %+v: the other writer's condition is lost (patch %s)", got.Status.Conditions, patch)
	}
}

// TestLeasesRenewedWhileNodeWritesFail: once a node has been written, its
// lease is renewed every LeaseInterval whether or not its node writes
// succeed (a renewal that waited for them let the node lifecycle
// controller mark busy nodes NotReady and their pods not ready), each lease
// on its own schedule.
func TestLeasesRenewedWhileNodeWritesFail(t *testing.T) {
	kube := fake.NewClientset()
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	clk := testingclock.NewFakeClock(t0)
	f, err := New(Config{MesosURL: "http://127.0.0.1:1"}, kube, slog.New(slog.NewTextHandler(io.Discard, nil)), WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f.pool.Add(t0, agentOffer("o1", "a1", "host-1"))
	f.nodes.syncNodes(ctx, t0)

	failNodeWrites, failed := false, 0
	kube.PrependReactor("*", "nodes", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if failNodeWrites && a.GetVerb() != "get" && a.GetVerb() != "list" {
			failed++
			return true, nil, apierrors.NewServiceUnavailable("overloaded")
		}
		return false, nil, nil
	})
	renewedAt := func(name string) time.Time {
		l, err := kube.CoordinationV1().Leases(leaseNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("lease of %s: %v", name, err)
		}
		return l.Spec.RenewTime.Time
	}
	for i := 0; i <= 60; i++ {
		now := t0.Add(time.Duration(i) * time.Second)
		clk.SetTime(now)
		switch i {
		case 4: // a second agent, written 4 s after the first
			f.pool.Add(now, agentOffer("o2", "a2", "host-2"))
		case 5: // from now on every node write fails
			failNodeWrites = true
		}
		f.pool.Add(now, agentOffer(fmt.Sprintf("o1-%d", i), "a1", "host-1")) // host-1's node changes every second
		f.nodes.syncNodes(ctx, now)
		f.nodes.renewLeases(ctx, now)
	}
	if failed < 50 {
		t.Fatalf("%d node writes failed, want one a second: the test does not exercise failing node writes", failed)
	}
	end := t0.Add(60 * time.Second)
	for _, name := range []string{"host-1", "host-2"} {
		if age := end.Sub(renewedAt(name)); age >= f.cfg.LeaseInterval {
			t.Errorf("lease of %s renewed %v before the end, want less than %v while its node writes fail", name, age, f.cfg.LeaseInterval)
		}
	}
	if a, b := renewedAt("host-1"), renewedAt("host-2"); a.Equal(b) {
		t.Errorf("both leases renewed at %v: want each on its own schedule", a)
	}
}

// TestLeasesLongestUnrenewedFirst: due leases go longest unrenewed first,
// and each carries the time of its write, not of its round's start (a
// round may last long when the API server is slow).
func TestLeasesLongestUnrenewedFirst(t *testing.T) {
	kube := fake.NewClientset()
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clk := testingclock.NewFakeClock(t0)
	f, err := New(Config{MesosURL: "http://127.0.0.1:1"}, kube, slog.New(slog.NewTextHandler(io.Discard, nil)), WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, host := range []string{"host-1", "host-2", "host-3"} {
		f.pool.Add(t0, agentOffer(fmt.Sprintf("o%d", i), fmt.Sprintf("a%d", i), host))
	}
	f.nodes.syncNodes(ctx, t0)
	f.nodes.renewLeases(ctx, t0)
	// host-2 was renewed last 30 s ago, host-3 20 s ago, host-1 12 s ago.
	f.nodes.mu.Lock()
	f.nodes.renewed["host-1"] = t0.Add(18 * time.Second)
	f.nodes.renewed["host-2"] = t0
	f.nodes.renewed["host-3"] = t0.Add(10 * time.Second)
	f.nodes.mu.Unlock()
	now := t0.Add(30 * time.Second)
	if got, want := f.nodes.dueLeases(now), []string{"host-2", "host-3", "host-1"}; !slices.Equal(got, want) {
		t.Errorf("due leases %v, want %v", got, want)
	}
	// The round began at now; the writes happen 7 s later.
	writeTime := now.Add(7 * time.Second)
	clk.SetTime(writeTime)
	f.nodes.renewLeases(ctx, now)
	for _, host := range []string{"host-1", "host-2", "host-3"} {
		l, err := kube.CoordinationV1().Leases(leaseNamespace).Get(ctx, host, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !l.Spec.RenewTime.Time.Equal(writeTime) {
			t.Errorf("lease of %s renewed at %v, want the time of its write %v", host, l.Spec.RenewTime.Time, writeTime)
		}
	}
}

// agentOffer is an offer of 1 cpu and 1 GiB from an agent.
func agentOffer(id, agentID, hostname string) mesos.Offer {
	role := "*"
	scalar := func(name string, v float64) mesos.Resource {
		return mesos.Resource{Name: name, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}, AllocationInfo: &mesos.Resource_AllocationInfo{Role: &role}}
	}
	return mesos.Offer{
		ID: mesos.OfferID{Value: id}, AgentID: mesos.AgentID{Value: agentID}, Hostname: hostname,
		AllocationInfo: &mesos.Resource_AllocationInfo{Role: &role},
		Resources:      []mesos.Resource{scalar("cpus", 1+float64(len(id))/100), scalar("mem", 1024)},
	}
}
