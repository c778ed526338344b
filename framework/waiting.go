package framework

import (
	"context"
	"sort"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// flushWaiting retries the waiting launches of nodes: after an offer of
// their agent (the remainder is back) or on the periodic tick (the return
// window may have passed: the launch then goes out on what is offered, or
// fails and the scheduler retries).
func (f *Framework) flushWaiting(ctx context.Context, now time.Time, nodes []string) {
	for _, n := range nodes {
		go f.flush(ctx, n, now)
	}
}

// waitingNodes returns the nodes with waiting launches, sorted.
func (f *Framework) waitingNodes() []string {
	f.batchMu.Lock()
	defer f.batchMu.Unlock()
	out := make([]string, 0, len(f.waiting))
	for n := range f.waiting {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// offeredNodes returns the nodes of the offers' agents that have waiting
// launches.
func (f *Framework) offeredNodes(offers []mesos.Offer) []string {
	f.batchMu.Lock()
	empty := len(f.waiting) == 0
	f.batchMu.Unlock()
	if empty {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, o := range offers {
		a, ok := f.pool.Agent(o.AgentID.Value)
		if !ok || seen[a.Node] {
			continue
		}
		seen[a.Node] = true
		f.batchMu.Lock()
		n := len(f.waiting[a.Node])
		f.batchMu.Unlock()
		if n > 0 {
			out = append(out, a.Node)
		}
	}
	return out
}
