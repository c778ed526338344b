package mesosoffers

import (
	"context"
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	fwk "k8s.io/kube-scheduler/framework"
)

// nodeOffers is an Offers with one Available per node, whatever the role:
// the cheapest lookup, so that the benchmark measures the plugin.
type nodeOffers map[string]Available

func (o nodeOffers) Available(node, _ string) (Available, bool) { a, ok := o[node]; return a, ok }
func (o nodeOffers) Reserve(string, Claim) error                { return nil }
func (o nodeOffers) Unreserve(string, types.UID)                {}
func (o nodeOffers) Launch(context.Context, *v1.Pod, string) error {
	return nil
}

// BenchmarkSchedulingCycle is one pod's pass through the plugin on 5,000
// nodes, as kube-scheduler makes it at that size: PreFilter, Filter on
// every node (every other one has no offer left for the pod), Score and
// NormalizeScore on the 500 feasible nodes it stops at.
func BenchmarkSchedulingCycle(b *testing.B) {
	const nodes, feasible = 5000, 500
	o := nodeOffers{}
	infos := make([]fwk.NodeInfo, nodes)
	for i := range nodes {
		name := fmt.Sprintf("agent-%04d", i)
		av := Available{Agent: name, Resources: Resources{CPUs: 4, MemMiB: 8192}}
		if i%2 == 1 {
			av.Resources = Resources{CPUs: 0.005, MemMiB: 8192}
		}
		o[name] = av
		infos[i] = nodeOfSize(name, 4, 8192)
	}
	pl, err := New(context.Background(), &Args{ScoringStrategy: Spread}, nil, o)
	if err != nil {
		b.Fatal(err)
	}
	p := pod("p", "10m", "16Mi")
	b.ReportAllocs()
	for b.Loop() {
		state := newCycleState()
		pl.PreFilter(context.Background(), state, p, nil)
		scores := make(fwk.NodeScoreList, 0, feasible)
		for _, ni := range infos {
			if pl.Filter(context.Background(), state, p, ni).IsSuccess() {
				s, _ := pl.Score(context.Background(), state, p, ni)
				scores = append(scores, fwk.NodeScore{Name: ni.Node().Name, Score: s})
				if len(scores) == feasible {
					break
				}
			}
		}
		pl.NormalizeScore(context.Background(), state, p, scores)
	}
}
