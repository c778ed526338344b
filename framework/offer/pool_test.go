package offer

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

func scalar(name string, v float64, role string) mesos.Resource {
	r := mesos.Resource{Name: name, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}}
	if role != "" {
		r.AllocationInfo = &mesos.Resource_AllocationInfo{Role: &role}
	}
	return r
}

func ports(b, e uint64, role string) mesos.Resource {
	r := mesos.Resource{Name: "ports", Type: mesos.RANGES.Enum(), Ranges: &mesos.Value_Ranges{Range: []mesos.Value_Range{{Begin: b, End: e}}}}
	r.AllocationInfo = &mesos.Resource_AllocationInfo{Role: &role}
	return r
}

func anOffer(id, agent, role string, cpus, mem float64, executors ...string) mesos.Offer {
	o := mesos.Offer{
		ID:             mesos.OfferID{Value: id},
		AgentID:        mesos.AgentID{Value: agent},
		Hostname:       agent + ".example",
		AllocationInfo: &mesos.Resource_AllocationInfo{Role: &role},
		Resources: []mesos.Resource{
			scalar("cpus", cpus, role), scalar("mem", mem, role), scalar("disk", 1000, role), ports(31000, 31010, role),
		},
	}
	for _, e := range executors {
		o.ExecutorIDs = append(o.ExecutorIDs, mesos.ExecutorID{Value: e})
	}
	return o
}

func nameByAgent(agentID, _ string) string { return "node-" + agentID }

func claim(uid string, cpus, mem float64, role string, port ...uint32) mesosoffers.Claim {
	c := mesosoffers.Claim{Pod: types.UID(uid), Role: role, Resources: mesosoffers.Resources{CPUs: cpus, MemMiB: mem}}
	for _, p := range port {
		c.Ports = append(c.Ports, mesosoffers.PortRange{Begin: p, End: p})
	}
	return c
}

// TestPoolScenario walks one agent through offers, claims, a batched take
// and declines.
func TestPoolScenario(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := NewPool(2*time.Second, nameByAgent)
	p.Add(t0, anOffer("o1", "a1", "*", 4, 4096))

	av, ok := p.Available("node-a1", "*")
	if !ok || av.CPUs != 4 || av.MemMiB != 4096 || !reflect.DeepEqual(av.Executor, ExecutorResources) || av.Agent != "a1" {
		t.Fatalf("fresh agent: %+v %v", av, ok)
	}
	if _, ok := p.Available("node-zz", "*"); ok {
		t.Fatal("unknown node reported available")
	}
	if _, ok := p.Available("node-a1", "web"); !ok {
		t.Fatal("known node, other role: want ok with nothing")
	}

	// The first claim pays for the executor; the second does not.
	if err := p.Reserve("node-a1", claim("p1", 1, 1024, "*", 31005)); err != nil {
		t.Fatal(err)
	}
	av, _ = p.Available("node-a1", "*")
	if !near(av.CPUs, 2.9) || !near(av.MemMiB, 4096-1024-64) || av.Executor.CPUs != 0 {
		t.Fatalf("after one claim: %+v", av)
	}
	if PortIn(31005, av.Ports) {
		t.Fatalf("claimed port still offered: %+v", av.Ports)
	}
	for _, tc := range []struct {
		name string
		c    mesosoffers.Claim
		want error
	}{
		{"too many cpus", claim("p2", 3, 1, "*"), ErrNoFit},
		{"port taken", claim("p2", 1, 1, "*", 31005), ErrNoFit},
		{"port not offered", claim("p2", 1, 1, "*", 40000), ErrNoFit},
		{"other role has nothing", claim("p2", 1, 1, "web"), ErrNoFit},
	} {
		if err := p.Reserve("node-a1", tc.c); !errors.Is(err, tc.want) {
			t.Errorf("%s: Reserve = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := p.Reserve("node-zz", claim("p2", 1, 1, "*")); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("unknown node: %v", err)
	}
	if err := p.Reserve("node-a1", claim("p2", 1, 1024, "*", 31006)); err != nil {
		t.Fatal(err)
	}

	// Claimed offers are not declined, however old.
	if d := p.Expired(t0.Add(time.Hour), nil); len(d) != 0 {
		t.Fatalf("claimed offers declined: %+v", d)
	}

	launches, waiting, missing, err := p.Take(t0, "node-a1", []types.UID{"p1", "p2", "p3"})
	if err != nil || len(missing) != 1 || missing[0] != "p3" || len(waiting) != 0 {
		t.Fatalf("Take: %v missing %v waiting %v", err, missing, waiting)
	}
	if len(launches) != 1 {
		t.Fatalf("launches = %+v, want one", launches)
	}
	l := launches[0]
	if l.AgentID != "a1" || l.Role != "*" || len(l.OfferIDs) != 1 || len(l.Claims) != 2 || !l.NewExecutor {
		t.Fatalf("launch = %+v", l)
	}
	av, _ = p.Available("node-a1", "*")
	if !near(av.CPUs, 1.9) || av.Executor.CPUs != 0 {
		t.Fatalf("after take: %+v (offers consumed, their remainder returning, executor launching)", av)
	}
	p.Expired(t0.Add(DefaultReturnWindow), nil)
	av, _ = p.Available("node-a1", "*")
	if av.CPUs != 0 {
		t.Fatalf("after the return window: %+v", av)
	}
	a, _ := p.Agent("a1")
	if a.Used.CPUs != 2 || !a.Executor {
		t.Fatalf("agent after take: %+v", a)
	}

	// New offers come; unclaimed they are declined after the hold.
	p.Add(t0.Add(10*time.Second), anOffer("o2", "a1", "*", 1.9, 2048, ExecutorID))
	if d := p.Expired(t0.Add(11*time.Second), nil); len(d) != 0 {
		t.Fatalf("declined within the hold: %+v", d)
	}
	d := p.Expired(t0.Add(12*time.Second), nil)
	if len(d) != 1 || d[0].AgentID != "a1" || d[0].OfferIDs[0].Value != "o2" {
		t.Fatalf("declines = %+v", d)
	}
	p.TaskEnded("a1", "p1")
	a, _ = p.Agent("a1")
	if a.Used.CPUs != 1 {
		t.Fatalf("used after a task ended = %+v", a.Used)
	}
	if changed := p.Changed(); len(changed) != 1 || changed[0].ID != "a1" {
		t.Fatalf("changed = %+v", changed)
	}
	if changed := p.Changed(); len(changed) != 0 {
		t.Fatalf("changed twice = %+v", changed)
	}
}

func TestPoolRolesRescindAndRemoval(t *testing.T) {
	t0 := time.Unix(0, 0)
	p := NewPool(time.Second, nameByAgent)
	p.Add(t0, anOffer("w", "a1", "web", 2, 1024), anOffer("s", "a1", "*", 1, 512, ExecutorID), anOffer("b", "a2", "*", 8, 8192))
	web, _ := p.Available("node-a1", "web")
	star, _ := p.Available("node-a1", "*")
	if web.CPUs != 2 || star.CPUs != 1 || web.Executor.CPUs != 0 {
		t.Fatalf("web %+v, * %+v (executor runs: no overhead)", web, star)
	}
	p.Rescind("w")
	if web, _ = p.Available("node-a1", "web"); web.CPUs != 0 {
		t.Fatalf("rescinded offer still available: %+v", web)
	}
	p.Rescind("unknown")
	if a, ok := p.RemoveAgent("a2"); !ok || a.Node != "node-a2" {
		t.Fatalf("remove a2: %+v %v", a, ok)
	}
	if _, ok := p.Available("node-a2", "*"); ok {
		t.Fatal("removed agent still known")
	}
	p.Clear()
	if n, _ := p.Counts(); n != 0 {
		t.Fatalf("offers after Clear = %d", n)
	}
	if _, ok := p.AgentOf("node-a1"); !ok {
		t.Fatal("Clear forgot the agent")
	}
	p.ExecutorGone("a1")
	if star, _ = p.Available("node-a1", "*"); !reflect.DeepEqual(star.Executor, ExecutorResources) {
		t.Fatalf("executor gone: overhead = %+v", star.Executor)
	}
}

func TestPoolTakeSplitsRoles(t *testing.T) {
	p := NewPool(time.Second, nameByAgent)
	p.Add(time.Unix(0, 0), anOffer("w", "a1", "web", 2, 1024), anOffer("s", "a1", "*", 2, 1024))
	for _, c := range []mesosoffers.Claim{claim("x", 0.5, 64, "web"), claim("y", 0.5, 64, "*")} {
		if err := p.Reserve("node-a1", c); err != nil {
			t.Fatal(err)
		}
	}
	launches, _, _, err := p.Take(time.Unix(0, 0), "node-a1", []types.UID{"x", "y"})
	if err != nil || len(launches) != 2 || launches[0].Role != "*" || launches[1].Role != "web" {
		t.Fatalf("launches %+v, %v", launches, err)
	}
	if launches[0].NewExecutor == launches[1].NewExecutor {
		t.Fatalf("exactly one launch carries the new executor: %+v", launches)
	}
}

func TestCarve(t *testing.T) {
	role := "web"
	reserved := scalar("cpus", 1, role)
	reserved.Reservations = []mesos.Resource_ReservationInfo{{Type: mesos.Resource_ReservationInfo_STATIC.Enum(), Role: &role}}
	from := []mesos.Resource{reserved, scalar("cpus", 2, role), scalar("mem", 100, role), ports(31000, 31002, role)}

	taken, rest, ok := Carve(from, mesosoffers.Resources{CPUs: 1.5, MemMiB: 40, Ports: []mesosoffers.PortRange{{Begin: 31001, End: 31001}}})
	if !ok {
		t.Fatal("carve failed")
	}
	if got := Summarize(taken); !near(got.CPUs, 1.5) || got.MemMiB != 40 || len(got.Ports) != 1 || got.Ports[0].Begin != 31001 {
		t.Fatalf("taken = %+v", got)
	}
	if len(taken[0].Reservations) != 1 {
		t.Fatalf("the reserved piece lost its reservation: %+v", taken[0])
	}
	if got := Summarize(rest); !near(got.CPUs, 1.5) || got.MemMiB != 60 || len(got.Ports) != 2 {
		t.Fatalf("rest = %+v", got)
	}
	if Summarize(from).CPUs != 3 {
		t.Fatal("Carve changed its input")
	}
	for _, need := range []mesosoffers.Resources{
		{CPUs: 3.5}, {MemMiB: 101}, {DiskMiB: 1}, {Ports: []mesosoffers.PortRange{{Begin: 1, End: 1}}},
	} {
		if _, _, ok := Carve(from, need); ok {
			t.Errorf("carve of %+v succeeded", need)
		}
	}
}

func TestDemand(t *testing.T) {
	var d Demand
	roles := []string{"apps", "web"}
	steps := []struct {
		waiting map[string]int
		freed   bool
		want    Signal
	}{
		{nil, false, Signal{Suppress: roles}},
		{nil, false, Signal{}},
		{map[string]int{"apps": 2}, false, Signal{Revive: []string{"apps"}}},
		{map[string]int{"apps": 3}, false, Signal{}},
		// A role the framework does not have is never signalled.
		{map[string]int{"apps": 3, "other": 1}, false, Signal{}},
		{map[string]int{"apps": 3}, true, Signal{Revive: []string{"apps"}}},
		{map[string]int{"web": 1}, false, Signal{Suppress: []string{"apps"}, Revive: []string{"web"}}},
		{map[string]int{"web": 1}, true, Signal{Revive: []string{"web"}}},
		{nil, true, Signal{}},
		{nil, false, Signal{Suppress: []string{"web"}}},
		{map[string]int{"apps": 1, "web": 1}, false, Signal{Revive: roles}},
	}
	for i, s := range steps {
		var got Signal
		if s.freed {
			got = d.Freed(roles, s.waiting)
		} else {
			got = d.Pending(roles, s.waiting)
		}
		if fmt.Sprint(got) != fmt.Sprint(s.want) || got.None() != s.want.None() {
			t.Fatalf("step %d (%+v): %+v, want %+v", i, s, got, s.want)
		}
	}
	if d.Suppressed("apps") || d.Suppressed("web") {
		t.Error("a role with waiting pods reads as suppressed")
	}
	d.Resubscribed()
	if got := d.Pending(roles, map[string]int{"web": 1}); fmt.Sprint(got) != fmt.Sprint(Signal{Suppress: []string{"apps"}}) {
		t.Errorf("after a resubscription: %+v, want apps suppressed", got)
	}
}

func near(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }

func TestPoolReachability(t *testing.T) {
	p := NewPool(time.Second, nameByAgent)
	p.Add(time.Unix(0, 0), anOffer("o1", "a1", "*", 2, 1024))
	p.Changed()
	p.Reachable("a1", false)
	a, _ := p.Agent("a1")
	if !a.Unreachable || a.Offered.CPUs != 0 {
		t.Fatalf("unreachable agent: %+v", a)
	}
	if c := p.Changed(); len(c) != 1 || !c[0].Unreachable {
		t.Fatalf("changed = %+v", c)
	}
	p.Reachable("a1", false)
	if c := p.Changed(); len(c) != 0 {
		t.Fatalf("no change reported as one: %+v", c)
	}
	p.Add(time.Unix(1, 0), anOffer("o2", "a1", "*", 2, 1024))
	if a, _ = p.Agent("a1"); a.Unreachable {
		t.Fatal("an offer did not make the agent reachable")
	}
	p.Reachable("unknown", false)
}

// TestPoolRegister: an agent the operator API reports is known with its
// total before it offers anything; its offers later land on the same node.
func TestPoolRegister(t *testing.T) {
	p := NewPool(time.Second, nameByAgent)
	total := mesosoffers.Resources{CPUs: 8, MemMiB: 4096}
	p.Register("a1", "host1", nil, total)
	changed := p.Changed()
	if len(changed) != 1 || changed[0].Node != "node-a1" || changed[0].Total.CPUs != total.CPUs || changed[0].Offered.CPUs != 0 {
		t.Fatalf("after Register: %+v", changed)
	}
	if _, ok := p.Available("node-a1", "*"); !ok {
		t.Fatal("a registered agent's node is unknown to Available")
	}
	p.Add(time.Unix(0, 0), anOffer("o1", "a1", "*", 2, 512))
	a, _ := p.Agent("a1")
	if a.Node != "node-a1" || a.Offered.CPUs != 2 || a.Total.CPUs != 8 {
		t.Fatalf("after an offer: %+v", a)
	}
	p.Register("a1", "host1", nil, mesosoffers.Resources{CPUs: 16})
	if a, _ := p.Agent("a1"); a.Total.CPUs != 16 || a.Offered.CPUs != 2 {
		t.Fatalf("a second Register did not just update the total: %+v", a)
	}
}

// BenchmarkExpired is one tick of the framework's loop at 5,000 agents
// holding an offer each while pods wait: nothing is due yet.
func BenchmarkExpired(b *testing.B) {
	p := NewPool(5*time.Second, nameByAgent)
	now := time.Unix(1000, 0)
	for i := range 5000 {
		agent := fmt.Sprintf("5c9a2f7e-3b1d-4e8a-9f6c-0d2e4b7a1c3f-S%d", i)
		p.Add(now, anOffer(fmt.Sprintf("o%d", i), agent, "web", 4, 8192))
	}
	waiting := map[string]Waiting{"web": {Pods: 20000, Backlog: 20000, Least: mesosoffers.Resources{CPUs: 0.01, MemMiB: 16}}}
	for b.Loop() {
		if d := p.Expired(now.Add(time.Second), waiting); len(d) != 0 {
			b.Fatalf("declined %d agents' offers", len(d))
		}
	}
}
