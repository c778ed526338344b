package offer

import (
	"testing"
	"time"
)

// offeredOf is the cpus of the agent's Offered, as Changed reports it
// (changed false when it did not change since the last call).
func offeredOf(p *Pool, agentID string) (cpus float64, changed bool) {
	for _, a := range p.Changed() {
		if a.ID == agentID {
			return a.Offered.CPUs, true
		}
	}
	a, _ := p.Agent(agentID)
	return a.Offered.CPUs, false
}

// TestDeclinedOffersLinger: an offer declined while pods wait in its role
// still counts in its agent's Offered (its node's allocatable) for the
// refuse filter and a return window, but not in Available; the agent's
// next offer of the role replaces it, and after the window it is gone. An
// offer declined while no pod waits, or with a long refuse filter, does not
// linger.
func TestDeclinedOffersLinger(t *testing.T) {
	t0 := time.Unix(1000, 0)
	waiting := map[string]Waiting{"web": {Pods: 1}}
	newPool := func(refuse time.Duration) *Pool {
		p := NewPool(2*time.Second, nameByAgent)
		p.SetHoldWaiting(2 * time.Second)
		p.SetDeclineRefuse(refuse)
		p.Add(t0, anOffer("o1", "a1", "web", 4, 4096), anOffer("o2", "a2", "batch", 4, 4096))
		p.Changed()
		return p
	}

	p := newPool(5 * time.Second)
	if d := p.Expired(t0.Add(2*time.Second), waiting); len(d) != 2 {
		t.Fatalf("declines at 2s = %+v, want both offers", d)
	}
	if av, _ := p.Available("node-a1", "web"); av.CPUs != 0 {
		t.Errorf("Available after the decline = %+v, want nothing", av)
	}
	if cpus, _ := offeredOf(p, "a1"); cpus != 4 {
		t.Errorf("a1 offers %v cpus after a decline while pods wait, want the declined 4 still counted", cpus)
	}
	if cpus, _ := offeredOf(p, "a2"); cpus != 0 {
		t.Errorf("a2 offers %v cpus after a decline while no pod waits in its role, want 0", cpus)
	}
	// Refuse 5 s + the return window 3 s: still there at 9.9 s, gone at 10.
	p.Expired(t0.Add(9900*time.Millisecond), waiting)
	if cpus, _ := offeredOf(p, "a1"); cpus != 4 {
		t.Errorf("a1 offers %v cpus within the window, want 4", cpus)
	}
	p.Expired(t0.Add(10*time.Second), waiting)
	if cpus, changed := offeredOf(p, "a1"); cpus != 0 || !changed {
		t.Errorf("a1 offers %v cpus (changed %v) after the window, want 0, changed", cpus, changed)
	}

	// The next offer replaces what was declined, whatever it brings.
	p = newPool(5 * time.Second)
	p.Expired(t0.Add(2*time.Second), waiting)
	p.Add(t0.Add(7*time.Second), anOffer("o3", "a1", "web", 3, 4096))
	if cpus, _ := offeredOf(p, "a1"); cpus != 3 {
		t.Errorf("a1 offers %v cpus after its next offer of 3, want 3", cpus)
	}

	// A refuse filter too long for the master to offer again soon.
	p = newPool(time.Hour)
	p.Expired(t0.Add(2*time.Second), waiting)
	if cpus, _ := offeredOf(p, "a1"); cpus != 0 {
		t.Errorf("a1 offers %v cpus after a decline refused for an hour, want 0", cpus)
	}
}
