package offer

import (
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// TestAvailableCacheStaysTrue runs random sequences of everything that
// changes a pool and checks, after each step, that the cached Available of
// every node and role equals one computed afresh.
func TestAvailableCacheStaysTrue(t *testing.T) {
	agents := []string{"a1", "a2", "a3"}
	roles := []string{"web", "batch"}
	for seed := int64(1); seed <= 50; seed++ {
		rng := rand.New(rand.NewSource(seed))
		now := time.Unix(1000, 0)
		p := NewPool(2*time.Second, nameByAgent)
		p.SetReturnWindow(3 * time.Second)
		var offers []string
		pods := 0
		pick := func(xs []string) string { return xs[rng.Intn(len(xs))] }
		for step := 0; step < 200; step++ {
			agent, role := pick(agents), pick(roles)
			node := nameByAgent(agent, "")
			var op string
			switch rng.Intn(10) {
			case 0, 1:
				id := fmt.Sprintf("o%d", step)
				p.Add(now, anOffer(id, agent, role, float64(1+rng.Intn(4)), float64(512*(1+rng.Intn(4)))))
				offers = append(offers, id)
				op = "add " + id
			case 2:
				if len(offers) > 0 {
					id := pick(offers)
					p.Rescind(id)
					op = "rescind " + id
				}
			case 3, 4:
				pods++
				uid := fmt.Sprintf("p%d", pods)
				_ = p.Reserve(node, claim(uid, 0.5, 128, role))
				op = "reserve " + uid
			case 5:
				if pods > 0 {
					uid := types.UID(fmt.Sprintf("p%d", 1+rng.Intn(pods)))
					p.Unreserve(node, uid)
					op = "unreserve " + string(uid)
				}
			case 6:
				var uids []types.UID
				for i := 1; i <= pods; i++ {
					uids = append(uids, types.UID(fmt.Sprintf("p%d", i)))
				}
				_, _, _, _ = p.Take(now, node, uids)
				op = "take " + node
			case 7:
				now = now.Add(time.Duration(rng.Intn(4000)) * time.Millisecond)
				p.Expired(now, nil)
				op = "expire at " + now.String()
			case 8:
				switch rng.Intn(4) {
				case 0:
					p.ExecutorGone(agent)
				case 1:
					p.TaskEnded(agent, types.UID(fmt.Sprintf("p%d", 1+rng.Intn(pods+1))))
				case 2:
					p.Reachable(agent, rng.Intn(2) == 0)
				case 3:
					p.Clear()
				}
				op = "agent change"
			case 9:
				p.Changed()
				op = "changed"
			}
			for _, a := range agents {
				for _, r := range roles {
					cached, ok := p.Available(nameByAgent(a, ""), r)
					if !ok {
						continue
					}
					p.mu.Lock()
					fresh := p.computeAvailableLocked(p.agents[a], r)
					p.mu.Unlock()
					if !reflect.DeepEqual(cached, fresh) {
						t.Fatalf("seed %d step %d (%s): Available(%s, %s) = %+v cached, %+v afresh", seed, step, op, a, r, cached, fresh)
					}
				}
			}
		}
	}
}

// BenchmarkAvailable is what the scheduler pays per Filter or Score call
// on an agent with a few offers and claims: cached, and computed afresh
// (what every call cost before the cache).
func BenchmarkAvailable(b *testing.B) {
	p := NewPool(2*time.Second, nameByAgent)
	now := time.Unix(1000, 0)
	for i := range 3 {
		p.Add(now, anOffer(fmt.Sprintf("o%d", i), "a1", "web", 2, 2048))
	}
	for i := range 5 {
		_ = p.Reserve("node-a1", claim(fmt.Sprintf("p%d", i), 0.1, 64, "web"))
	}
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			p.Available("node-a1", "web")
		}
	})
	// As kube-scheduler's Filter calls it: 16 goroutines over 1,000
	// agents' nodes, every answer cached.
	b.Run("parallel-1000-agents", func(b *testing.B) {
		q := NewPool(2*time.Second, nameByAgent)
		nodes := make([]string, 1000)
		for i := range nodes {
			agent := fmt.Sprintf("5c9a2f7e-3b1d-4e8a-9f6c-0d2e4b7a1c3f-S%d", i)
			q.Add(now, anOffer(fmt.Sprintf("o%d", i), agent, "web", 4, 8192))
			nodes[i] = "node-" + agent
		}
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				q.Available(nodes[i%len(nodes)], "web")
				i += 7
			}
		})
	})
	b.Run("afresh", func(b *testing.B) {
		a := p.agents["a1"]
		for b.Loop() {
			p.mu.Lock()
			p.computeAvailableLocked(a, "web")
			p.mu.Unlock()
		}
	})
}
