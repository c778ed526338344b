package offer

import (
	"errors"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// TestPoolReturning follows the remainder of an ACCEPT: claimable while it
// returns, launches on it wait for the agent's next offer, and after the
// window it is gone.
func TestPoolReturning(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := NewPool(2*time.Second, nameByAgent)
	p.Add(t0, anOffer("o1", "a1", "*", 4, 4096))
	if err := p.Reserve("node-a1", claim("p1", 1, 1024, "*")); err != nil {
		t.Fatal(err)
	}
	launches, waiting, _, err := p.Take(t0, "node-a1", []types.UID{"p1"})
	if err != nil || len(launches) != 1 || len(waiting) != 0 {
		t.Fatalf("first take: %+v waiting %v: %v", launches, waiting, err)
	}

	// 4 offered - 0.1 executor - 1 used: 2.9 returning.
	av, _ := p.Available("node-a1", "*")
	if !near(av.CPUs, 2.9) || !near(av.MemMiB, 4096-64-1024) {
		t.Fatalf("returning: %+v", av)
	}
	for _, tc := range []struct {
		name string
		uid  string
		cpus float64
		want error
	}{
		{"fits the remainder", "p2", 2, nil},
		{"beyond the remainder", "p3", 1, ErrNoFit},
		{"rest of the remainder", "p4", 0.5, nil},
	} {
		if err := p.Reserve("node-a1", claim(tc.uid, tc.cpus, 64, "*")); !errors.Is(err, tc.want) {
			t.Errorf("%s: Reserve = %v, want %v", tc.name, err, tc.want)
		}
	}

	// No offer yet: the launches wait.
	t1 := t0.Add(100 * time.Millisecond)
	launches, waiting, _, err = p.Take(t1, "node-a1", []types.UID{"p2"})
	if err != nil || len(launches) != 0 || len(waiting) != 1 || waiting[0] != "p2" {
		t.Fatalf("take on returning: %+v waiting %v: %v", launches, waiting, err)
	}
	if d := p.Expired(t1.Add(time.Hour), nil); len(d) != 0 {
		t.Fatalf("declined while claimed: %+v", d)
	}

	// The remainder comes back as an offer: p2 goes out on it.
	t2 := t0.Add(500 * time.Millisecond)
	p.Add(t2, anOffer("o2", "a1", "*", 2.9, 3008, ExecutorID))
	launches, waiting, _, err = p.Take(t2, "node-a1", []types.UID{"p2"})
	if err != nil || len(launches) != 1 || len(waiting) != 0 || launches[0].OfferIDs[0].Value != "o2" || launches[0].NewExecutor {
		t.Fatalf("take on the new offer: %+v waiting %v: %v", launches, waiting, err)
	}
	av, _ = p.Available("node-a1", "*")
	if !near(av.CPUs, 0.4) {
		t.Fatalf("returning after the second take, less p4's claim: %+v", av)
	}

	// p4 waits on that remainder; the window passes with no offer: it goes
	// out on nothing (the ACCEPT fails it and the scheduler retries).
	t3 := t2.Add(time.Second)
	if _, waiting, _, _ = p.Take(t3, "node-a1", []types.UID{"p4"}); len(waiting) != 1 {
		t.Fatalf("p4 within the window: waiting %v", waiting)
	}
	t4 := t2.Add(DefaultReturnWindow)
	launches, waiting, _, err = p.Take(t4, "node-a1", []types.UID{"p4"})
	if err != nil || len(launches) != 1 || len(waiting) != 0 || len(launches[0].OfferIDs) != 0 || launches[0].Claims[0].Pod != "p4" {
		t.Fatalf("p4 after the window: %+v waiting %v: %v", launches, waiting, err)
	}
	p.Expired(t4.Add(2*DefaultReturnWindow), nil)
	if av, _ = p.Available("node-a1", "*"); av.CPUs != 0 {
		t.Fatalf("after the window: %+v", av)
	}
}

// TestPoolReturningWindowOff: with no window the remainder is not counted
// and nothing waits (the behaviour before returning remainders).
func TestPoolReturningWindowOff(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := NewPool(2*time.Second, nameByAgent)
	p.SetReturnWindow(0)
	p.Add(t0, anOffer("o1", "a1", "*", 4, 4096))
	if err := p.Reserve("node-a1", claim("p1", 1, 1024, "*")); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := p.Take(t0, "node-a1", []types.UID{"p1"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Reserve("node-a1", claim("p2", 0.5, 64, "*")); !errors.Is(err, ErrNoFit) {
		t.Fatalf("Reserve on no offers = %v", err)
	}
}

// TestAgentOfferedCountsReturning: the agent's view (its node's
// allocatable) keeps an ACCEPT's remainder while it returns, so a launch
// changes what the node shows only by the executor's own resources.
func TestAgentOfferedCountsReturning(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := NewPool(2*time.Second, nameByAgent)
	p.Add(t0, anOffer("o1", "a1", "*", 4, 4096))
	p.Changed()
	if err := p.Reserve("node-a1", claim("p1", 1, 1024, "*")); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := p.Take(t0, "node-a1", []types.UID{"p1"}); err != nil {
		t.Fatal(err)
	}
	a, _ := p.Agent("a1")
	if total := a.Offered.CPUs + a.Used.CPUs; !near(total, 3.9) || !near(a.Offered.CPUs, 2.9) {
		t.Fatalf("after the ACCEPT: offered %+v used %+v, want 2.9 cpus returning (3.9 with the pod's)", a.Offered, a.Used)
	}
	// The remainder offered again: the same totals, the same node.
	p.Add(t0.Add(time.Second), anOffer("o2", "a1", "*", 2.9, 3008, ExecutorID))
	a, _ = p.Agent("a1")
	if !near(a.Offered.CPUs, 2.9) {
		t.Fatalf("after the re-offer: offered %+v", a.Offered)
	}
	// A remainder that never comes back leaves the view once its window
	// passes, and the agent counts as changed.
	if err := p.Reserve("node-a1", claim("p2", 1, 64, "*")); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := p.Take(t0.Add(2*time.Second), "node-a1", []types.UID{"p2"}); err != nil {
		t.Fatal(err)
	}
	p.Changed()
	p.Expired(t0.Add(2*time.Second+DefaultReturnWindow), nil)
	a, _ = p.Agent("a1")
	if a.Offered.CPUs != 0 {
		t.Fatalf("after the return window: offered %+v, want nothing", a.Offered)
	}
	if changed := p.Changed(); len(changed) != 1 || changed[0].ID != "a1" {
		t.Fatalf("changed after the return window = %+v, want a1", changed)
	}
}

// TestOffersHeldWhilePodsWait: an unclaimed offer is declined after the
// hold, but kept for the longer hold while pods wait in its role.
func TestOffersHeldWhilePodsWait(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := NewPool(2*time.Second, nameByAgent)
	p.SetHoldWaiting(30 * time.Second)
	p.Add(t0, anOffer("web", "a1", "web", 1, 1024), anOffer("batch", "a2", "batch", 1, 1024))
	waiting := map[string]Waiting{"web": {Pods: 3}}
	d := p.Expired(t0.Add(3*time.Second), waiting)
	if len(d) != 1 || d[0].OfferIDs[0].Value != "batch" {
		t.Fatalf("declines at 3s = %+v, want only the offer of the role no pod waits in", d)
	}
	if d := p.Expired(t0.Add(29*time.Second), waiting); len(d) != 0 {
		t.Fatalf("declines at 29s = %+v, want none while pods wait", d)
	}
	if d := p.Expired(t0.Add(30*time.Second), waiting); len(d) != 1 || d[0].OfferIDs[0].Value != "web" {
		t.Fatalf("declines at 30s = %+v, want the web offer", d)
	}
	// An offer too small for any waiting pod is declined after the hold.
	p.Add(t0, anOffer("small", "a3", "web", 0.3, 4096))
	least := map[string]Waiting{"web": {Pods: 3, Least: mesosoffers.Resources{CPUs: 0.5, MemMiB: 64}}}
	if d := p.Expired(t0.Add(3*time.Second), least); len(d) != 1 || d[0].OfferIDs[0].Value != "small" {
		t.Fatalf("declines at 3s = %+v, want the offer no waiting pod fits in", d)
	}
	// The longer hold is never shorter than the hold.
	q := NewPool(time.Minute, nameByAgent)
	q.SetHoldWaiting(time.Second)
	q.Add(t0, anOffer("o", "a1", "web", 1, 1024))
	if d := q.Expired(t0.Add(30*time.Second), waiting); len(d) != 0 {
		t.Fatalf("declined before the hold: %+v", d)
	}
}

// TestOffersHeldForBacklog: while more pods wait (and are not found
// unschedulable) than agents offer to them, offers that could take one are
// kept past the hold while pods wait, up to the backlog hold; once the
// backlog is no larger than the agents offering, or only unschedulable pods
// wait, they go after the shorter hold again.
func TestOffersHeldForBacklog(t *testing.T) {
	t0 := time.Unix(1000, 0)
	newPool := func() *Pool {
		p := NewPool(2*time.Second, nameByAgent)
		p.SetHoldWaiting(30 * time.Second)
		p.SetHoldBacklog(5 * time.Minute)
		p.Add(t0, anOffer("o1", "a1", "web", 1, 1024), anOffer("o2", "a2", "web", 1, 1024),
			anOffer("big", "a3", "web", 0.2, 8192), anOffer("b", "a4", "batch", 1, 1024))
		return p
	}
	least := mesosoffers.Resources{CPUs: 0.5, MemMiB: 64}
	declined := func(d []Decline) []string {
		var ids []string
		for _, x := range d {
			for _, id := range x.OfferIDs {
				ids = append(ids, id.Value)
			}
		}
		slices.Sort(ids)
		return ids
	}

	p := newPool()
	backlog := map[string]Waiting{"web": {Pods: 3, Backlog: 3, Least: least}}
	// The batch offer (no pod waits) and the one too small for any waiting
	// pod go after the hold, whatever the backlog.
	if got := declined(p.Expired(t0.Add(3*time.Second), backlog)); !slices.Equal(got, []string{"b", "big"}) {
		t.Fatalf("declined at 3s = %v, want [b big]", got)
	}
	// 3 pods wait and 2 agents offer: both offers are kept past 30 s.
	if got := declined(p.Expired(t0.Add(time.Minute), backlog)); len(got) != 0 {
		t.Fatalf("declined at 1m with a backlog of 3 for 2 agents = %v, want none", got)
	}
	if got := declined(p.Expired(t0.Add(5*time.Minute-time.Second), backlog)); len(got) != 0 {
		t.Fatalf("declined just before the backlog hold = %v, want none", got)
	}
	if got := declined(p.Expired(t0.Add(5*time.Minute), backlog)); !slices.Equal(got, []string{"o1", "o2"}) {
		t.Fatalf("declined at the backlog hold = %v, want [o1 o2]", got)
	}

	for _, w := range []Waiting{
		{Pods: 2, Backlog: 2, Least: least}, // no more pods than agents offering
		{Pods: 3, Backlog: 0, Least: least}, // all found unschedulable
	} {
		p := newPool()
		waiting := map[string]Waiting{"web": w}
		if got := declined(p.Expired(t0.Add(29*time.Second), waiting)); !slices.Equal(got, []string{"b", "big"}) {
			t.Fatalf("%+v: declined at 29s = %v, want [b big]", w, got)
		}
		if got := declined(p.Expired(t0.Add(30*time.Second), waiting)); !slices.Equal(got, []string{"o1", "o2"}) {
			t.Fatalf("%+v: declined at 30s = %v, want [o1 o2]", w, got)
		}
	}

	// A backlog hold shorter than the hold while pods wait is that hold.
	q := newPool()
	q.SetHoldBacklog(time.Second)
	if got := declined(q.Expired(t0.Add(29*time.Second), backlog)); !slices.Equal(got, []string{"b", "big"}) {
		t.Fatalf("short backlog hold: declined at 29s = %v, want [b big]", got)
	}
}
