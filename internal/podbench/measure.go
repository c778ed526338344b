package podbench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubemesos/kubemesos/internal/clock"
)

// Run is one measurement: create Pods pods and wait until all run.
type Run struct {
	// Client creates and watches the pods; give it a high QPS and burst so
	// that the client is not the limit.
	Client    kubernetes.Interface
	Namespace string
	// Name labels the run's pods (RunLabel) and prefixes their names.
	Name          string
	Pods          int
	SchedulerName string
	// Clients and Rate: see Creation.
	Clients int
	Rate    float64
	// Counters, when set, reads the cost counters before and after.
	Counters func(context.Context) (Counters, error)
	// Usage reads the process' resource use before and after (default
	// ReadUsage).
	Usage  func() (Usage, error)
	Clock  clock.Clock
	Logger *slog.Logger
}

// Measurement is what a Run measured.
type Measurement struct {
	Observation
	// Latency summarises Observation.Latencies.
	Latency Latencies
	// Cost is what the counters grew by during the run.
	Cost Counters
	// CPU is the process' CPU time during the run; RSS its resident memory
	// at the end and PeakRSS its high-water mark.
	CPU          time.Duration
	RSS, PeakRSS int64
}

// Measure runs r: it opens a watch on the run's pods, reads the counters,
// creates the pods and waits until every one is Running (or ctx ends:
// bound the wait with a deadline), then reads the counters again.
func Measure(ctx context.Context, r Run) (Measurement, error) {
	if r.Client == nil || r.Pods <= 0 || r.Name == "" {
		return Measurement{}, errors.New("podbench: a run needs a client, a name and pods")
	}
	if r.Namespace == "" {
		r.Namespace = metav1.NamespaceDefault
	}
	if r.Usage == nil {
		r.Usage = ReadUsage
	}
	if r.Clock == nil {
		r.Clock = clock.Real{}
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	obs := NewObserver(r.Clock)
	watchErr := make(chan error, 1)
	go func() { watchErr <- obs.Run(ctx, r.Client, r.Namespace, r.Name) }()
	select {
	case <-obs.Started():
	case err := <-watchErr:
		return Measurement{}, fmt.Errorf("watch the run's pods: %w", errOrEnded(err))
	case <-ctx.Done():
		return Measurement{}, ctx.Err()
	}

	var before, after Counters
	if r.Counters != nil {
		var err error
		if before, err = r.Counters(ctx); err != nil {
			return Measurement{}, fmt.Errorf("counters before the run: %w", err)
		}
	}
	usageBefore, err := r.Usage()
	if err != nil {
		return Measurement{}, err
	}

	pods := make([]*corev1.Pod, r.Pods)
	for i := range pods {
		pods[i] = Pod(r.Namespace, r.Name+"-"+strconv.Itoa(i), r.SchedulerName, r.Name)
	}
	r.Logger.Info("creating pods", "run", r.Name, "pods", r.Pods, "rate", r.Rate)
	createErr := make(chan error, 1)
	go func() {
		createErr <- Create(ctx, Creation{Client: r.Client, Pods: pods, Clients: r.Clients, Rate: r.Rate, Sent: obs.Sent, Clock: r.Clock})
	}()
	running := make(chan error, 1)
	go func() { running <- obs.WaitRunning(ctx, r.Pods) }()
	for done := false; !done; {
		select {
		case err := <-createErr:
			if err != nil {
				return Measurement{}, err
			}
			createErr = nil
		case err := <-running:
			if err != nil {
				return Measurement{}, err
			}
			done = true
		case err := <-watchErr:
			if ctx.Err() != nil {
				return Measurement{}, fmt.Errorf("%d of %d pods running: %w", obs.Running(), r.Pods, ctx.Err())
			}
			return Measurement{}, fmt.Errorf("watch the run's pods: %w", errOrEnded(err))
		}
	}

	usageAfter, err := r.Usage()
	if err != nil {
		return Measurement{}, err
	}
	if r.Counters != nil {
		if after, err = r.Counters(ctx); err != nil {
			return Measurement{}, fmt.Errorf("counters after the run: %w", err)
		}
	}
	m := Measurement{
		Observation: obs.Observation(),
		Cost:        after.Sub(before),
		CPU:         usageAfter.CPU - usageBefore.CPU,
		RSS:         usageAfter.RSS,
		PeakRSS:     usageAfter.PeakRSS,
	}
	m.Latency = Summarize(m.Latencies)
	r.Logger.Info("pods running", "run", r.Name, "pods", m.Running,
		"creating", m.LastSent.Sub(m.FirstSent), "first_create_to_last_running", m.LastRunning.Sub(m.FirstSent),
		"p50", m.Latency.P50, "p99", m.Latency.P99)
	return m, nil
}

func errOrEnded(err error) error {
	if err == nil {
		return errors.New("it ended")
	}
	return err
}

// WaitNodesSchedulable polls until at least n nodes are Ready and carry no
// NoSchedule taint nor spec.unschedulable, or ctx ends.
func WaitNodesSchedulable(ctx context.Context, client kubernetes.Interface, n int, clk clock.Clock) error {
	if clk == nil {
		clk = clock.Real{}
	}
	last := 0
	for {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err == nil {
			last = 0
			for i := range list.Items {
				if schedulable(&list.Items[i]) {
					last++
				}
			}
			if last >= n {
				return nil
			}
		}
		if err := sleepUntil(ctx, clk, clk.Now().Add(500*time.Millisecond)); err != nil {
			return fmt.Errorf("%d of %d nodes schedulable: %w", last, n, err)
		}
	}
}

func schedulable(node *corev1.Node) bool {
	if node.Spec.Unschedulable {
		return false
	}
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return false
		}
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
