package allocator

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkAllocationCycle is Mesos' allocation-cycle benchmark: every
// framework in one role, no filters, each offer declined with refuse 0
// after the cycle so that every cycle starts from the same state. One
// iteration is one cycle over every agent.
func BenchmarkAllocationCycle(b *testing.B) {
	for _, size := range []struct{ agents, frameworks int }{
		{1000, 100}, {5000, 500}, {10000, 1000}, {20000, 2000},
	} {
		b.Run(fmt.Sprintf("agents=%d/frameworks=%d", size.agents, size.frameworks), func(b *testing.B) {
			a := New(Config{})
			total := res(b, "cpus:24;mem:4096;disk:4096;ports:[31000-32000]")
			for i := 0; i < size.agents; i++ {
				a.AddAgent(fmt.Sprintf("agent-%d", i), Agent{Hostname: fmt.Sprintf("h%d", i), Total: total, MultiRole: true}, nil)
			}
			for i := 0; i < size.frameworks; i++ {
				a.AddFramework(fmt.Sprintf("framework-%d", i), Framework{Roles: []string{"role"}}, nil, true)
			}
			now := time.Unix(0, 0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				allocs := a.Allocate(now, nil)
				if len(allocs) != size.agents {
					b.Fatalf("cycle offered %d agents, want %d", len(allocs), size.agents)
				}
				b.StopTimer()
				for _, al := range allocs {
					a.RecoverResources(al.FrameworkID, al.AgentID, al.Resources, 0, now)
				}
				b.StartTimer()
			}
		})
	}
}
