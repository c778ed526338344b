package framework

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	testingclock "k8s.io/utils/clock/testing"
)

// TestDeclineSuppressRevive checks the offer flow against mesos-sim: with
// no pod waiting, held offers are declined after the hold and offers are
// suppressed; a pod that waits brings them back at once (REVIVE clears the
// refuse filter, which is far longer than the test).
func TestDeclineSuppressRevive(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cluster := startMesosSim(ctx, t, 1)
	kube := fake.NewClientset()
	clk := testingclock.NewFakeClock(time.Now())
	f, err := New(Config{MesosURL: cluster.URL, OfferHold: 2 * time.Second, DeclineRefuse: time.Hour},
		kube, slog.New(slog.NewTextHandler(io.Discard, nil)), WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.Run(runCtx) }()
	defer func() {
		stop()
		<-done
	}()
	select {
	case <-f.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("no subscription")
	}
	o := f.Offers()
	hasOffer := func() bool {
		av, ok := o.Available("sim-agent-0", "*")
		return ok && av.CPUs > 0
	}
	poll(t, "an offer", clk, 0, hasOffer)
	poll(t, "the offer declined after the hold", clk, 500*time.Millisecond, func() bool {
		return !hasOffer() && testutil.ToFloat64(f.metrics.offers.WithLabelValues("declined")) >= 1
	})
	poll(t, "offers suppressed with no pod waiting", clk, 250*time.Millisecond, func() bool {
		f.demandMu.Lock()
		defer f.demandMu.Unlock()
		return f.demand.Suppressed("*")
	})

	if _, err := kube.CoreV1().Pods("default").Create(ctx, testPod("waiting", "w"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "offers revived for a waiting pod", clk, 250*time.Millisecond, hasOffer)
	if got := testutil.ToFloat64(f.metrics.pending); got != 1 {
		t.Errorf("pending pods metric = %v", got)
	}
}
