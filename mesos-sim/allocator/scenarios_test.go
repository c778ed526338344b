package allocator

import (
	"testing"
	"time"
)

// TestUnreservedDRF is Mesos' HierarchicalAllocatorTest.UnreservedDRF:
// agents join one at a time and each goes to the framework of the role with
// the lowest dominant share, the shares as the comments say.
func TestUnreservedDRF(t *testing.T) {
	a := New(Config{})
	steps := []struct {
		addFramework, role string // a framework subscribed before the agent joins
		agent, resources   string
		want               string // the framework offered the new agent
	}{
		// Only framework1 runs: it gets agent1. role1 share 1.
		{"framework1", "role1", "agent1", "cpus:2;mem:1024;disk:0", "framework1"},
		// Total cpus:3;mem:1536: role1 0.67, role2 0 -> framework2.
		{"framework2", "role2", "agent2", "cpus:1;mem:512;disk:0", "framework2"},
		// Total cpus:6;mem:3584: role1 0.33, role2 0.17 -> role2's framework2.
		{"framework3", "role1", "agent3", "cpus:3;mem:2048;disk:0", "framework2"},
		// Total cpus:10;mem:7680: role1 0.2, role2 0.4 -> role1; within it
		// framework3 and framework4 hold nothing and tie: framework3.
		{"framework4", "role1", "agent4", "cpus:4;mem:4096;disk:0", "framework3"},
	}
	for _, s := range steps {
		a.AddFramework(s.addFramework, Framework{Roles: []string{s.role}}, nil, true)
		a.AddAgent(s.agent, Agent{Total: res(t, s.resources), MultiRole: true}, nil)
		allocs := a.Allocate(t0, []string{s.agent})
		if len(allocs) != 1 || allocs[0].FrameworkID != s.want {
			t.Fatalf("%s joined: want it offered to %s, got %v", s.agent, s.want, allocs)
		}
	}
}

// TestSameShareFairness is Mesos' SameShareFairness: two frameworks in one
// role that always decline with refuse 0 are offered the single agent in
// turn (equal shares, ties broken by allocation count).
func TestSameShareFairness(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 1, "cpus:2;mem:1024")
	a.AddFramework("framework1", Framework{Roles: []string{"*"}}, nil, true)
	a.AddFramework("framework2", Framework{Roles: []string{"*"}}, nil, true)
	counts := map[string]int{}
	for i := 0; i < 10; i++ {
		allocs := a.Allocate(t0, nil)
		if len(allocs) != 1 {
			t.Fatalf("round %d: want one offer, got %v", i, allocs)
		}
		counts[allocs[0].FrameworkID]++
		a.RecoverResources(allocs[0].FrameworkID, allocs[0].AgentID, allocs[0].Resources, 0, t0)
	}
	if counts["framework1"] != 5 || counts["framework2"] != 5 {
		t.Fatalf("offers per framework: %v, want 5 each", counts)
	}
}

// TestAllocationCountTieBreak is the sorter's rule (Mesos'
// DRFSorterTest.AllocationCountTieBreak): equal shares are ordered by the
// number of allocations made, then by name.
func TestAllocationCountTieBreak(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 1, "cpus:2;mem:1024")
	for _, id := range []string{"b", "a", "c"} {
		a.AddFramework(id, Framework{Roles: []string{"r"}}, nil, true)
	}
	var order []string
	for i := 0; i < 6; i++ {
		allocs := a.Allocate(t0, nil)
		if len(allocs) != 1 {
			t.Fatalf("round %d: %v", i, allocs)
		}
		order = append(order, allocs[0].FrameworkID)
		a.RecoverResources(allocs[0].FrameworkID, allocs[0].AgentID, allocs[0].Resources, 0, t0)
	}
	want := []string{"a", "b", "c", "a", "b", "c"}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("offer order %v, want %v (shares tie: fewest allocations, then name)", order, want)
		}
	}
}

// TestQuotaProvidesLimit is Mesos' QuotaProvidesLimit: a role is never
// offered more than its limit, whatever else is free.
func TestQuotaProvidesLimit(t *testing.T) {
	a := New(Config{})
	addAgents(t, a, 3, "cpus:2;mem:1024")
	a.UpdateQuota("quota-role", map[string]float64{"cpus": 2, "mem": 1024}, nil)
	a.AddFramework("f", Framework{Roles: []string{"quota-role"}}, nil, true)
	allocs := a.Allocate(t0, nil)
	if len(allocs) != 1 || scalar(allocs[0].Resources, "cpus") != 2 {
		t.Fatalf("limit cpus:2;mem:1024 is one agent, got %v", allocs)
	}
	if more := a.Allocate(t0.Add(time.Second), nil); len(more) != 0 {
		t.Fatalf("at its limit, the role was offered %v", more)
	}
	// Giving resources back makes room under the limit again.
	a.RecoverResources("f", allocs[0].AgentID, allocs[0].Resources, 0, t0)
	if again := a.Allocate(t0.Add(time.Second), nil); len(again) != 1 {
		t.Fatalf("under its limit again, want one offer, got %v", again)
	}
}
