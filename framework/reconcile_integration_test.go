package framework

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/client-go/kubernetes/fake"
	testingclock "k8s.io/utils/clock/testing"
)

// TestPeriodicReconciliation checks that the framework reconciles once on
// subscription and again each ReconcileInterval, and not in between.
func TestPeriodicReconciliation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cluster := startMesosSim(ctx, t, 1)
	clk := testingclock.NewFakeClock(time.Now())
	const interval = time.Minute
	f, err := New(Config{MesosURL: cluster.URL, ReconcileInterval: interval}, fake.NewClientset(), slog.New(slog.NewTextHandler(io.Discard, nil)), WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	select {
	case <-f.Ready():
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no subscription")
	}
	rounds := func() float64 { return testutil.ToFloat64(f.metrics.reconciliations) }
	if got := rounds(); got != 1 {
		t.Fatalf("%v reconciliations after subscribing, want 1", got)
	}
	// Half an interval: the periodic loop runs, but no reconciliation is due.
	for range 4 {
		clk.Step(interval / 8)
		poll(t, "the periodic loop to wait again", nil, 0, func() bool { return clk.HasWaiters() })
	}
	if got := rounds(); got != 1 {
		t.Errorf("%v reconciliations after half an interval, want 1", got)
	}
	clk.Step(interval / 2)
	poll(t, "a second reconciliation", clk, 0, func() bool { return rounds() == 2 })
}
