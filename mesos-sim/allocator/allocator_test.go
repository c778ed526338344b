package allocator

import (
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/mesos-sim/spec"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func res(t testing.TB, s string) mesos.Resources {
	t.Helper()
	rs, err := spec.ParseResources(s)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func scalar(rs mesos.Resources, name string) float64 {
	return scalarsOf(rs)[name]
}

// addAgents adds n agents a0..a(n-1) with the given resources.
func addAgents(t testing.TB, a *Allocator, n int, resources string) {
	t.Helper()
	for i := 0; i < n; i++ {
		a.AddAgent(fmt.Sprintf("a%d", i), Agent{Hostname: fmt.Sprintf("h%d", i), Total: res(t, resources), MultiRole: true, HierarchicalRole: true}, nil)
	}
}

// agentsBy counts allocations (offers) per framework.
func agentsBy(allocs []Allocation) map[string]int {
	out := map[string]int{}
	for _, al := range allocs {
		out[al.FrameworkID]++
	}
	return out
}

func TestCoarseGrained(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 2, "cpus:2;mem:1024;ports:[31000-32000]")
	a.AddFramework("f1", Framework{Roles: []string{"r1"}}, nil, true)
	a.AddFramework("f2", Framework{Roles: []string{"r2"}}, nil, true)
	allocs := a.Allocate(t0, nil)
	if len(allocs) != 2 {
		t.Fatalf("want 2 allocations, got %v", allocs)
	}
	if got := agentsBy(allocs); got["f1"] != 1 || got["f2"] != 1 {
		t.Fatalf("each framework should get one whole agent, got %v", got)
	}
	for _, al := range allocs {
		if scalar(al.Resources, "cpus") != 2 || scalar(al.Resources, "mem") != 1024 || len(al.Resources) != 3 {
			t.Errorf("allocation %v is not the whole agent", al.Resources)
		}
		for _, r := range al.Resources {
			if r.GetAllocationInfo().GetRole() != al.Role {
				t.Errorf("resource %v lacks allocation_info.role %s", r, al.Role)
			}
		}
	}
	if again := a.Allocate(t0, nil); len(again) != 0 {
		t.Fatalf("everything is allocated, yet got %v", again)
	}
}

// TestUnreservedDRF follows Mesos' UnreservedDRF and UpdateWeight: with
// coarse-grained allocation of equal agents, roles end up with agents in
// proportion to their weights.
func TestWeightedDRF(t *testing.T) {
	for _, tc := range []struct {
		weights map[string]float64
		roles   []string
		want    map[string]int
	}{
		{nil, []string{"r1", "r2"}, map[string]int{"f-r1": 3, "f-r2": 3}},
		{map[string]float64{"r2": 2}, []string{"r1", "r2"}, map[string]int{"f-r1": 2, "f-r2": 4}},
		{map[string]float64{"r2": 2, "r3": 3}, []string{"r1", "r2", "r3"}, map[string]int{"f-r1": 1, "f-r2": 2, "f-r3": 3}},
	} {
		t.Run(fmt.Sprint(tc.weights), func(t *testing.T) {
			a := New(Config{})
			a.UpdateWeights(tc.weights)
			addAgents(t, a, 6, "cpus:2;mem:1024")
			for _, role := range tc.roles {
				a.AddFramework("f-"+role, Framework{Roles: []string{role}}, nil, true)
			}
			if got := agentsBy(a.Allocate(t0, nil)); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("agents per framework: got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDRFPrefersLowestShare: a framework already holding resources waits
// for one that holds none.
func TestDRFPrefersLowestShare(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 2, "cpus:2;mem:1024")
	a.AddFramework("busy", Framework{Roles: []string{"r"}}, map[string]mesos.Resources{"a0": res(t, "cpus:1;mem:512")}, true)
	a.AddFramework("idle", Framework{Roles: []string{"r"}}, nil, true)
	a.AddAgent("a0", Agent{Total: res(t, "cpus:2;mem:1024"), MultiRole: true}, map[string]mesos.Resources{"busy": res(t, "cpus:1;mem:512")})
	allocs := a.Allocate(t0, []string{"a1"})
	if len(allocs) != 1 || allocs[0].FrameworkID != "idle" {
		t.Fatalf("want the idle framework offered a1, got %v", allocs)
	}
	// The rest of a0 goes to busy only once idle has more.
	allocs = a.Allocate(t0, []string{"a0"})
	if len(allocs) != 1 || allocs[0].FrameworkID != "busy" || scalar(allocs[0].Resources, "cpus") != 1 {
		t.Fatalf("want busy offered the remaining cpus:1 of a0, got %v", allocs)
	}
}

func TestFairnessExclusion(t *testing.T) {
	a := New(Config{FairnessExcludedResourceNames: []string{"gpus"}})
	a.AddAgent("big", Agent{Total: res(t, "cpus:1;mem:512;gpus:8"), MultiRole: true}, map[string]mesos.Resources{"gpu-user": res(t, "gpus:8")})
	a.AddAgent("a1", Agent{Total: res(t, "cpus:8;mem:4096"), MultiRole: true}, nil)
	a.AddFramework("gpu-user", Framework{Roles: []string{"r1"}, GPUResources: true}, nil, true)
	a.AddFramework("other", Framework{Roles: []string{"r2"}}, map[string]mesos.Resources{}, true)
	// gpu-user holds every GPU, but GPUs do not count: its share is 0 and
	// it wins the tie on name ("gpu-user" < "other" is irrelevant: roles
	// r1 < r2), so it is offered a1 first.
	allocs := a.Allocate(t0, []string{"a1"})
	if len(allocs) != 1 || allocs[0].FrameworkID != "gpu-user" {
		t.Fatalf("want gpu-user (share 0 without gpus) offered a1, got %v", allocs)
	}
}

func TestOfferFilter(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 1, "cpus:2;mem:1024")
	a.AddFramework("f", Framework{Roles: []string{"r"}}, nil, true)
	allocs := a.Allocate(t0, nil)
	if len(allocs) != 1 {
		t.Fatalf("want one offer, got %v", allocs)
	}
	a.RecoverResources("f", "a0", allocs[0].Resources, time.Hour, t0)
	if got := a.Allocate(t0.Add(time.Second), nil); len(got) != 0 {
		t.Fatalf("declined for an hour, yet offered again: %v", got)
	}
	if got := a.Stats().ActiveFilters; got != 1 {
		t.Errorf("active filters: %d, want 1", got)
	}
	if got := a.Allocate(t0.Add(time.Hour), nil); len(got) != 1 {
		t.Fatalf("filter expired, want the agent offered again, got %v", got)
	}
}

// TestFilterOnlyCoversRefusedResources: new resources on the agent break
// the filter (an allocation not a subset of the refused resources).
func TestFilterOnlyCoversRefusedResources(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 1, "cpus:2;mem:1024")
	a.AddFramework("f", Framework{Roles: []string{"r"}}, nil, true)
	a.AddFramework("g", Framework{Roles: []string{"r"}}, map[string]mesos.Resources{"a0": res(t, "cpus:1;mem:512")}, true)
	a.AddAgent("a0", Agent{Total: res(t, "cpus:2;mem:1024"), MultiRole: true}, map[string]mesos.Resources{"g": res(t, "cpus:1;mem:512")})
	allocs := a.Allocate(t0, nil)
	if len(allocs) != 1 || allocs[0].FrameworkID != "f" {
		t.Fatalf("want f offered the free half, got %v", allocs)
	}
	a.RecoverResources("f", "a0", allocs[0].Resources, time.Hour, t0)
	a.RecoverResources("g", "a0", res(t, "cpus:1;mem:512"), 0, t0)
	a.Suppress("g", nil)
	allocs = a.Allocate(t0.Add(time.Second), nil)
	if len(allocs) != 1 || allocs[0].FrameworkID != "f" || scalar(allocs[0].Resources, "cpus") != 2 {
		t.Fatalf("the whole agent is more than f refused: want it offered to f, got %v", allocs)
	}
}

// TestSmallOfferFilterTimeout is MESOS-4302: a filter lasts at least one
// allocation interval.
func TestSmallOfferFilterTimeout(t *testing.T) {
	a := New(Config{AllocationInterval: time.Second})
	addAgents(t, a, 1, "cpus:2;mem:1024")
	a.AddFramework("f", Framework{Roles: []string{"r"}}, nil, true)
	allocs := a.Allocate(t0, nil)
	a.RecoverResources("f", "a0", allocs[0].Resources, 100*time.Millisecond, t0)
	if got := a.Allocate(t0.Add(500*time.Millisecond), nil); len(got) != 0 {
		t.Fatalf("filter shorter than the interval must last the interval, got %v", got)
	}
	if got := a.Allocate(t0.Add(time.Second), nil); len(got) != 1 {
		t.Fatalf("want an offer after the interval, got %v", got)
	}
}

func TestSuppressAndRevive(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 1, "cpus:2;mem:1024")
	a.AddFramework("f", Framework{Roles: []string{"r1", "r2"}, MultiRole: true}, nil, true)
	a.Suppress("f", []string{"r1"})
	allocs := a.Allocate(t0, nil)
	if len(allocs) != 1 || allocs[0].Role != "r2" {
		t.Fatalf("r1 suppressed: want an offer in r2 only, got %v", allocs)
	}
	a.RecoverResources("f", "a0", allocs[0].Resources, time.Hour, t0)
	a.Suppress("f", nil)
	if got := a.Allocate(t0, nil); len(got) != 0 {
		t.Fatalf("fully suppressed, yet offered %v", got)
	}
	a.Revive("f", []string{"r2"})
	allocs = a.Allocate(t0, nil)
	if len(allocs) != 1 || allocs[0].Role != "r2" {
		t.Fatalf("revive clears r2's filter: want an offer in r2, got %v", allocs)
	}
}

func TestDeactivateFramework(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 1, "cpus:2;mem:1024")
	a.AddFramework("f", Framework{Roles: []string{"r"}}, nil, false)
	if got := a.Allocate(t0, nil); len(got) != 0 {
		t.Fatalf("inactive framework offered %v", got)
	}
	a.ActivateFramework("f")
	if got := a.Allocate(t0, nil); len(got) != 1 {
		t.Fatalf("active framework not offered: %v", got)
	}
}

func TestDeactivateAgent(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 2, "cpus:2;mem:1024")
	a.AddFramework("f", Framework{Roles: []string{"r"}}, nil, true)
	a.DeactivateAgent("a1")
	allocs := a.Allocate(t0, nil)
	if len(allocs) != 1 || allocs[0].AgentID != "a0" {
		t.Fatalf("want only a0 offered, got %v", allocs)
	}
	a.ActivateAgent("a1")
	if allocs = a.Allocate(t0, nil); len(allocs) != 1 || allocs[0].AgentID != "a1" {
		t.Fatalf("want a1 offered once active, got %v", allocs)
	}
}

func TestRecoverResourcesIsIdempotent(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 1, "cpus:2;mem:1024")
	a.AddFramework("f", Framework{Roles: []string{"r"}}, nil, true)
	a.AddFramework("g", Framework{Roles: []string{"r"}}, nil, false)
	allocs := a.Allocate(t0, nil)
	// Given back twice, without allocation_info the second time.
	a.RecoverResources("f", "a0", allocs[0].Resources, 0, t0)
	a.RecoverResources("f", "a0", res(t, "cpus:2;mem:1024"), 0, t0)
	a.ActivateFramework("g")
	a.Suppress("f", nil)
	allocs = a.Allocate(t0, nil)
	if len(allocs) != 1 || scalar(allocs[0].Resources, "cpus") != 2 {
		t.Fatalf("want exactly the agent's cpus:2 offered, got %v", allocs)
	}
}

func TestRemoveFrameworkFreesItsAllocation(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 1, "cpus:2;mem:1024")
	a.AddFramework("f", Framework{Roles: []string{"r"}}, nil, true)
	if got := a.Allocate(t0, nil); len(got) != 1 {
		t.Fatal(got)
	}
	a.RemoveFramework("f")
	a.AddFramework("g", Framework{Roles: []string{"r"}}, nil, true)
	if got := a.Allocate(t0, nil); len(got) != 1 || got[0].FrameworkID != "g" {
		t.Fatalf("want g offered what f held, got %v", got)
	}
}

func TestReservations(t *testing.T) {
	a := New(Config{})
	a.AddAgent("a0", Agent{Total: res(t, "cpus(r1):2;mem(r1):512;cpus:1;mem:512"), MultiRole: true}, nil)
	a.AddFramework("f2", Framework{Roles: []string{"r2"}}, nil, true)
	allocs := a.Allocate(t0, nil)
	if len(allocs) != 1 || scalar(allocs[0].Resources, "cpus") != 1 {
		t.Fatalf("r2 may take only the unreserved cpus:1, got %v", allocs)
	}
	for _, r := range allocs[0].Resources {
		if !r.IsUnreserved() {
			t.Fatalf("r2 offered a reservation of r1: %v", r)
		}
	}
	a.AddFramework("f1", Framework{Roles: []string{"r1"}}, nil, true)
	allocs = a.Allocate(t0, nil)
	if len(allocs) != 1 || allocs[0].FrameworkID != "f1" || scalar(allocs[0].Resources, "cpus") != 2 {
		t.Fatalf("want r1 offered its reservation, got %v", allocs)
	}
}

func TestNestedRoleGetsAncestorReservation(t *testing.T) {
	a := New(Config{})
	a.AddAgent("a0", Agent{Total: res(t, "cpus(eng):2;mem(eng):512"), MultiRole: true, HierarchicalRole: true}, nil)
	a.AddFramework("f", Framework{Roles: []string{"eng/dev"}}, nil, true)
	allocs := a.Allocate(t0, nil)
	if len(allocs) != 1 || allocs[0].Role != "eng/dev" {
		t.Fatalf("eng/dev may use eng's reservation, got %v", allocs)
	}
}

func TestHierarchicalRoleNeedsCapableAgent(t *testing.T) {
	a := New(Config{})
	a.AddAgent("old", Agent{Total: res(t, "cpus:2;mem:512"), MultiRole: true}, nil)
	a.AddFramework("f", Framework{Roles: []string{"eng/dev"}}, nil, true)
	if got := a.Allocate(t0, nil); len(got) != 0 {
		t.Fatalf("agent without HIERARCHICAL_ROLE offered to a nested role: %v", got)
	}
}

// TestNestedRoleDRF: siblings are compared within their parent, and the
// parent as a whole against its siblings.
func TestNestedRoleDRF(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 4, "cpus:2;mem:1024")
	a.AddFramework("a-x", Framework{Roles: []string{"a/x"}}, nil, true)
	a.AddFramework("a-y", Framework{Roles: []string{"a/y"}}, nil, true)
	a.AddFramework("b", Framework{Roles: []string{"b"}}, nil, true)
	got := agentsBy(a.Allocate(t0, nil))
	want := map[string]int{"a-x": 1, "a-y": 1, "b": 2}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("role a (two children) and role b share equally: got %v, want %v", got, want)
	}
}

func TestMultiRoleFrameworkSkipsOldAgent(t *testing.T) {
	a := New(Config{})
	a.AddAgent("old", Agent{Total: res(t, "cpus:2;mem:512")}, nil)
	a.AddFramework("f", Framework{Roles: []string{"r"}, MultiRole: true}, nil, true)
	if got := a.Allocate(t0, nil); len(got) != 0 {
		t.Fatalf("agent without MULTI_ROLE offered to a MULTI_ROLE framework: %v", got)
	}
}

func TestGPUAgentsOnlyForGPUFrameworks(t *testing.T) {
	a := New(Config{FilterGPUResources: true})
	a.AddAgent("gpu", Agent{Total: res(t, "cpus:2;mem:512;gpus:1"), MultiRole: true}, nil)
	a.AddFramework("plain", Framework{Roles: []string{"r"}}, nil, true)
	if got := a.Allocate(t0, nil); len(got) != 0 {
		t.Fatalf("GPU agent offered to a framework without GPU_RESOURCES: %v", got)
	}
	a.AddFramework("gpu-fw", Framework{Roles: []string{"r"}, GPUResources: true}, nil, true)
	if got := a.Allocate(t0, nil); len(got) != 1 || got[0].FrameworkID != "gpu-fw" {
		t.Fatalf("want the GPU framework offered the GPU agent, got %v", got)
	}
}

func TestMinAllocatable(t *testing.T) {
	a := New(Config{})
	a.AddAgent("tiny", Agent{Total: res(t, "cpus:0.005;mem:16;disk:100"), MultiRole: true}, nil)
	a.AddFramework("f", Framework{Roles: []string{"r"}}, nil, true)
	if got := a.Allocate(t0, nil); len(got) != 0 {
		t.Fatalf("below cpus:0.01 and mem:32, yet offered %v", got)
	}
	// FrameworkEmptyMinAllocatable: an empty override accepts anything.
	a.UpdateFramework("f", Framework{Roles: []string{"r"}, MinAllocatable: map[string][]map[string]float64{"r": {}}})
	if got := a.Allocate(t0, nil); len(got) != 1 {
		t.Fatalf("empty min-allocatable override should accept the tiny agent, got %v", got)
	}
}

func TestFrameworkMinAllocatable(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 1, "cpus:1;mem:1024")
	a.AddFramework("f", Framework{Roles: []string{"r"}, MinAllocatable: map[string][]map[string]float64{"r": {{"cpus": 2}}}}, nil, true)
	if got := a.Allocate(t0, nil); len(got) != 0 {
		t.Fatalf("framework wants cpus:2 at least, yet offered %v", got)
	}
}

func TestQuotaLimitChopsOffers(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 2, "cpus:4;mem:1024")
	a.UpdateQuota("q", map[string]float64{"cpus": 3}, nil)
	a.AddFramework("f", Framework{Roles: []string{"q"}}, nil, true)
	allocs := a.Allocate(t0, nil)
	total := 0.0
	for _, al := range allocs {
		total += scalar(al.Resources, "cpus")
	}
	if total != 3 {
		t.Fatalf("quota limit cpus:3, yet offered cpus:%v in %v", total, allocs)
	}
}

// TestQuotaGuaranteeHeldBack: the unsatisfied guarantee of a role without
// frameworks is held back from other roles (QuotaAbsentFramework).
func TestQuotaGuaranteeHeldBack(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 2, "cpus:2;mem:1024")
	a.UpdateQuota("q", map[string]float64{"cpus": 2}, map[string]float64{"cpus": 2})
	a.AddFramework("other", Framework{Roles: []string{"r"}}, nil, true)
	total := 0.0
	for _, al := range a.Allocate(t0, nil) {
		total += scalar(al.Resources, "cpus")
	}
	if total != 2 {
		t.Fatalf("cpus:2 must stay free for q's guarantee; other got cpus:%v", total)
	}
	a.AddFramework("fq", Framework{Roles: []string{"q"}}, nil, true)
	allocs := a.Allocate(t0, nil)
	if len(allocs) == 0 || agentsBy(allocs)["fq"] == 0 {
		t.Fatalf("q's framework should be offered the held-back cpus, got %v", allocs)
	}
	got := 0.0
	for _, al := range allocs {
		if al.FrameworkID == "fq" {
			got += scalar(al.Resources, "cpus")
		}
	}
	if got != 2 {
		t.Fatalf("q offered cpus:%v, want its guarantee cpus:2", got)
	}
}

func TestUpdateAllocationReserves(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 1, "cpus:2;mem:1024")
	a.AddFramework("f", Framework{Roles: []string{"r"}}, nil, true)
	allocs := a.Allocate(t0, nil)
	from := res(t, "cpus:1").Allocate("r")
	to := res(t, "cpus(r):1").Allocate("r")
	if err := a.UpdateAllocation("f", "a0", from, to); err != nil {
		t.Fatal(err)
	}
	if err := a.UpdateAllocation("f", "a0", res(t, "cpus:5").Allocate("r"), to); err == nil {
		t.Fatal("reserving more than allocated must fail")
	}
	a.RecoverResources("f", "a0", allocs[0].Resources.Minus(from...).Plus(to...), 0, t0)
	a.AddFramework("g", Framework{Roles: []string{"other"}}, nil, true)
	a.Suppress("f", nil)
	got := a.Allocate(t0, nil)
	if len(got) != 1 || scalar(got[0].Resources, "cpus") != 1 {
		t.Fatalf("after reserving cpus:1 for r, another role gets cpus:1, got %v", got)
	}
}

func TestRolesAndQuotas(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 1, "cpus:2;mem:1024")
	a.UpdateWeights(map[string]float64{"r": 2})
	a.UpdateQuota("r", map[string]float64{"cpus": 8}, nil)
	a.AddFramework("f", Framework{Roles: []string{"r"}}, nil, true)
	a.Allocate(t0, nil)
	roles := a.Roles()
	if len(roles) != 1 || roles[0].Name != "r" || roles[0].Weight != 2 || roles[0].Quota == nil ||
		!reflect.DeepEqual(roles[0].Frameworks, []string{"f"}) || scalar(roles[0].Allocated, "cpus") != 2 {
		t.Fatalf("roles: %+v", roles)
	}
	a.UpdateQuota("r", nil, nil)
	if len(a.Quotas()) != 0 {
		t.Fatalf("quota not removed: %v", a.Quotas())
	}
}

func TestSameSeedSameAllocations(t *testing.T) {
	run := func() []string {
		a := New(Config{Seed: 42})
		addAgents(t, a, 20, "cpus:2;mem:1024")
		for i := 0; i < 5; i++ {
			a.AddFramework(fmt.Sprintf("f%d", i), Framework{Roles: []string{"r"}}, nil, true)
		}
		var out []string
		for _, al := range a.Allocate(t0, nil) {
			out = append(out, al.FrameworkID+"@"+al.AgentID)
		}
		return out
	}
	first, second := run(), run()
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("same seed, different allocations:\n%v\n%v", first, second)
	}
	if len(first) != 20 {
		t.Fatalf("want all 20 agents offered, got %d", len(first))
	}
}

// TestFairUnderDeclines: frameworks that decline do not starve the others
// (the DeclineOffers benchmark scenario, small).
func TestFairUnderDeclines(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 10, "cpus:24;mem:4096")
	for i := 0; i < 5; i++ {
		a.AddFramework(fmt.Sprintf("f%d", i), Framework{Roles: []string{"r"}}, nil, true)
	}
	seen := map[string]bool{}
	now := t0
	for round := 0; round < 10; round++ {
		for _, al := range a.Allocate(now, nil) {
			seen[al.FrameworkID] = true
			a.RecoverResources(al.FrameworkID, al.AgentID, al.Resources, time.Duration(math.MaxInt64), now)
		}
		now = now.Add(time.Second)
	}
	if len(seen) != 5 {
		t.Fatalf("every framework should have been offered something, saw %v", seen)
	}
}
