package podbench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubemesos/kubemesos/internal/clock"
)

// Defaults of the benchmark's pods and their creation.
const (
	// RunLabel marks the benchmark's pods; its value names the run.
	RunLabel = "kubemesos.io/bench-run"
	// DefaultClients is how many goroutines create pods.
	DefaultClients = 32
)

// Pod returns a benchmark pod: one container that sleeps, asking for little
// enough (cpu 10m, memory 16Mi) that 10 pods per node fit many times over.
// Simulated agents run nothing and the pod executor runs the command.
func Pod(namespace, name, schedulerName, run string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: map[string]string{RunLabel: run}},
		Spec: corev1.PodSpec{
			SchedulerName:                 schedulerName,
			TerminationGracePeriodSeconds: new(int64),
			Containers: []corev1.Container{{
				Name:    "sleep",
				Image:   "busybox",
				Command: []string{"sleep", "3600"},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("10m"),
					corev1.ResourceMemory: resource.MustParse("16Mi"),
				}},
			}},
		},
	}
}

// Creation describes how pods are created.
type Creation struct {
	Client kubernetes.Interface
	// Pods are created in this order (by name, within each client's share).
	Pods []*corev1.Pod
	// Clients is how many create concurrently (default DefaultClients).
	Clients int
	// Rate, when positive, paces creation: pod i is created no earlier than
	// i/Rate seconds after the start. Zero creates as fast as the clients can.
	Rate float64
	// Sent, when set, is called just before each pod's create request.
	Sent  func(name string, at time.Time)
	Clock clock.Clock
}

// Create creates every pod of c and returns the first error.
func Create(ctx context.Context, c Creation) error {
	if c.Client == nil {
		return errors.New("podbench: no client")
	}
	if c.Clients <= 0 {
		c.Clients = DefaultClients
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	g, ctx := errgroup.WithContext(ctx)
	next := make(chan *corev1.Pod)
	g.Go(func() error {
		defer close(next)
		start := c.Clock.Now()
		for i, pod := range c.Pods {
			if c.Rate > 0 {
				due := start.Add(time.Duration(float64(i) / c.Rate * float64(time.Second)))
				if err := sleepUntil(ctx, c.Clock, due); err != nil {
					return err
				}
			}
			select {
			case next <- pod:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range c.Clients {
		g.Go(func() error {
			for pod := range next {
				if c.Sent != nil {
					c.Sent(pod.Name, c.Clock.Now())
				}
				if err := createPod(ctx, c.Client, pod); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// createAttempts is how many times a pod create is sent when the API server
// answers that it timed out or is overloaded, as a load generator's client
// retries; a create that landed although its answer was a timeout shows as
// AlreadyExists on the retry.
const createAttempts = 5

func createPod(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod) error {
	var err error
	for attempt := 1; attempt <= createAttempts; attempt++ {
		_, err = client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
		switch {
		case err == nil:
			return nil
		case attempt > 1 && apierrors.IsAlreadyExists(err):
			return nil
		case !apierrors.IsServerTimeout(err) && !apierrors.IsTimeout(err) && !apierrors.IsTooManyRequests(err):
			return fmt.Errorf("create pod %s: %w", pod.Name, err)
		}
	}
	return fmt.Errorf("create pod %s: %d attempts: %w", pod.Name, createAttempts, err)
}

// sleepUntil waits for the clock to reach due, or for ctx to end (ctx's
// error, also when due has passed).
func sleepUntil(ctx context.Context, clk clock.Clock, due time.Time) error {
	wait := due.Sub(clk.Now())
	if wait <= 0 {
		return ctx.Err()
	}
	done := make(chan struct{})
	t := clk.AfterFunc(wait, func() { close(done) })
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
