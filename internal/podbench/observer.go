package podbench

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/kubemesos/kubemesos/internal/clock"
)

// Observer records when each pod of a run was sent for creation and when a
// watch first saw it Running.
type Observer struct {
	clock   clock.Clock
	started chan struct{}

	mu      sync.Mutex
	sent    map[string]time.Time
	running map[string]time.Time
	waiters []waiter
}

type waiter struct {
	n    int
	done chan struct{}
}

// NewObserver returns an Observer reading the time from clk (nil: the real
// clock).
func NewObserver(clk clock.Clock) *Observer {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Observer{clock: clk, started: make(chan struct{}), sent: map[string]time.Time{}, running: map[string]time.Time{}}
}

// Run watches the pods of namespace ns labelled with run until ctx ends.
// A pod counts as Running when the watch first delivers it in that phase;
// the time is when the event arrived.
func (o *Observer) Run(ctx context.Context, client kubernetes.Interface, ns, run string) error {
	opts := metav1.ListOptions{LabelSelector: RunLabel + "=" + run}
	return watchPods(ctx, client, ns, opts, func() { close(o.started) }, func(t watch.EventType, pod *corev1.Pod) {
		if t != watch.Deleted && pod.Status.Phase == corev1.PodRunning && pod.Labels[RunLabel] == run {
			o.sawRunning(pod.Name, o.clock.Now())
		}
	})
}

// Started is closed once the watch is open: pods created afterwards are
// seen.
func (o *Observer) Started() <-chan struct{} { return o.started }

// Sent records that pod name's create request is being sent at t.
func (o *Observer) Sent(name string, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.sent[name]; !ok {
		o.sent[name] = at
	}
}

func (o *Observer) sawRunning(name string, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.running[name]; ok {
		return
	}
	o.running[name] = at
	kept := o.waiters[:0]
	for _, w := range o.waiters {
		if len(o.running) >= w.n {
			close(w.done)
		} else {
			kept = append(kept, w)
		}
	}
	o.waiters = kept
}

// Running is how many pods have been seen Running.
func (o *Observer) Running() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.running)
}

// WaitRunning waits until n pods have been seen Running or ctx ends.
func (o *Observer) WaitRunning(ctx context.Context, n int) error {
	o.mu.Lock()
	if len(o.running) >= n {
		o.mu.Unlock()
		return nil
	}
	w := waiter{n: n, done: make(chan struct{})}
	o.waiters = append(o.waiters, w)
	o.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%d of %d pods running: %w", o.Running(), n, ctx.Err())
	}
}

// Observation is what an Observer saw of the pods it was told were sent.
type Observation struct {
	// Pods is how many were sent; Running how many of them were seen
	// Running.
	Pods, Running int
	// FirstSent and LastSent are the earliest and the latest create
	// request, LastRunning the last pod seen Running.
	FirstSent, LastSent, LastRunning time.Time
	// Latencies are each Running pod's time from create request to Running.
	Latencies []time.Duration
}

// Observation summarises what was seen so far.
func (o *Observer) Observation() Observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	obs := Observation{Pods: len(o.sent), Latencies: make([]time.Duration, 0, len(o.sent))}
	for name, sent := range o.sent {
		if obs.FirstSent.IsZero() || sent.Before(obs.FirstSent) {
			obs.FirstSent = sent
		}
		if sent.After(obs.LastSent) {
			obs.LastSent = sent
		}
		running, ok := o.running[name]
		if !ok {
			continue
		}
		obs.Running++
		if running.After(obs.LastRunning) {
			obs.LastRunning = running
		}
		obs.Latencies = append(obs.Latencies, running.Sub(sent))
	}
	return obs
}

// Throughput is Running pods per second from the first create request to
// the last pod Running (0 when undefined).
func (obs Observation) Throughput() float64 {
	d := obs.LastRunning.Sub(obs.FirstSent)
	if obs.Running == 0 || d <= 0 {
		return 0
	}
	return float64(obs.Running) / d.Seconds()
}
