package podbench

import (
	"context"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubemesos/kubemesos/internal/clock"
)

// TestFakeNodesRenewEveryInterval: rounds of lease renewals start Interval
// apart however long a round takes, as a kubelet renews its lease every
// renewInterval; a round longer than Interval is followed by the next at
// once.
func TestFakeNodesRenewEveryInterval(t *testing.T) {
	for _, tc := range []struct {
		name       string
		roundTakes time.Duration
		want       []time.Duration // renewals, from the start
	}{
		{name: "round shorter than the interval", roundTakes: 4 * time.Second, want: []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second, 40 * time.Second}},
		{name: "round longer than the interval", roundTakes: 15 * time.Second, want: []time.Duration{10 * time.Second, 25 * time.Second, 40 * time.Second, 55 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
			clk := clock.NewFake(start)
			client := fake.NewClientset()
			nodes := &FakeNodes{Client: client, Names: []string{"node-0"}, Clients: 1, Interval: 10 * time.Second, Clock: clk}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := nodes.Create(ctx); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var renewals []time.Duration
			client.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
				mu.Lock()
				renewals = append(renewals, clk.Now().Sub(start))
				mu.Unlock()
				clk.Step(tc.roundTakes) // no timer is pending during a round
				return false, nil, nil
			})
			done := make(chan error, 1)
			go func() { done <- nodes.Run(ctx) }()
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				n := len(renewals)
				mu.Unlock()
				if n >= len(tc.want) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d renewals within 10 s, want %d", n, len(tc.want))
				}
				if clk.Pending() == 1 { // Run waits for its next round
					clk.Step(time.Second)
				} else {
					time.Sleep(time.Millisecond)
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for i, want := range tc.want {
				if renewals[i] != want {
					t.Fatalf("renewals at %v, want %v first", renewals, tc.want)
				}
			}
		})
	}
}
