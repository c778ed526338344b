package podbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/kubemesos/kubemesos/internal/clock"
)

// DefaultKubeletWorkers is how many status writes the fake kubelet has in
// flight.
const DefaultKubeletWorkers = 16

// FakeKubelet plays the kubelet of every node, kwok-style: each pod bound
// to a node (spec.nodeName set) that is not yet Running is marked Running
// with one status write (phase, conditions, a running container status,
// start time, host and pod IPs). It runs no containers.
type FakeKubelet struct {
	Client kubernetes.Interface
	// Workers is how many status writes are in flight (default
	// DefaultKubeletWorkers).
	Workers int
	Clock   clock.Clock
	Logger  *slog.Logger

	writes atomic.Int64
}

// Writes is how many status writes the kubelet has sent.
func (k *FakeKubelet) Writes() int64 { return k.writes.Load() }

// Run marks pods Running until ctx ends.
func (k *FakeKubelet) Run(ctx context.Context) error {
	if k.Client == nil {
		return errors.New("fake kubelet: no client")
	}
	workers := k.Workers
	if workers <= 0 {
		workers = DefaultKubeletWorkers
	}
	clk := k.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	log := k.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	queue := newPodQueue()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer queue.close()
		opts := metav1.ListOptions{FieldSelector: "spec.nodeName!="}
		return watchPods(ctx, k.Client, "", opts, nil, func(t watch.EventType, pod *corev1.Pod) {
			switch {
			case t == watch.Deleted:
				queue.forget(pod)
			case pod.Spec.NodeName != "" && (pod.Status.Phase == corev1.PodPending || pod.Status.Phase == "") && pod.DeletionTimestamp == nil:
				queue.add(pod)
			}
		})
	})
	var ips atomic.Uint32
	for range workers {
		g.Go(func() error {
			for {
				pod, ok := queue.next(ctx)
				if !ok {
					return nil
				}
				patch, err := runningPatch(pod, clk.Now(), podIP(ips.Add(1)))
				if err != nil {
					return err
				}
				k.writes.Add(1)
				_, err = k.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
				if err != nil && ctx.Err() == nil {
					// A pod deleted meanwhile, or an apiserver hiccup: the
					// benchmark notices a pod that never runs.
					log.Warn("cannot mark pod running", "pod", pod.Namespace+"/"+pod.Name, "error", err)
				}
			}
		})
	}
	err := g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// runningPatch is the status of pod once its containers run.
func runningPatch(pod *corev1.Pod, now time.Time, ip string) ([]byte, error) {
	started := metav1.NewTime(now)
	conditions := []corev1.PodCondition{}
	for _, t := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled} {
		conditions = append(conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: started})
	}
	var containers []corev1.ContainerStatus
	for _, c := range pod.Spec.Containers {
		containers = append(containers, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "fake://" + c.Image,
			ContainerID: "fake://" + string(pod.UID) + "/" + c.Name,
			Ready:       true, Started: new(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
		})
	}
	host := hostIP(pod.Spec.NodeName)
	status := corev1.PodStatus{
		Phase:             corev1.PodRunning,
		Conditions:        conditions,
		HostIP:            host,
		HostIPs:           []corev1.HostIP{{IP: host}},
		PodIP:             ip,
		PodIPs:            []corev1.PodIP{{IP: ip}},
		StartTime:         &started,
		ContainerStatuses: containers,
	}
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return nil, fmt.Errorf("fake kubelet: %w", err)
	}
	return patch, nil
}

// hostIP is a node's address in 10.0.0.0/9, from a hash of its name.
func hostIP(node string) string {
	h := fnv.New32a()
	h.Write([]byte(node))
	v := h.Sum32() & 0x007fffff
	return netip.AddrFrom4([4]byte{10, byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

// podIP is the n-th pod address in 10.128.0.0/9.
func podIP(n uint32) string {
	n &= 0x007fffff
	return netip.AddrFrom4([4]byte{10, 128 | byte(n>>16), byte(n >> 8), byte(n)}).String()
}

// podQueue hands pods to the workers once each, in arrival order.
type podQueue struct {
	mu     sync.Mutex
	seen   map[string]bool // namespace/name
	items  []*corev1.Pod
	ready  chan struct{} // has one token while items is not empty
	closed chan struct{}
	once   sync.Once
}

func newPodQueue() *podQueue {
	return &podQueue{seen: map[string]bool{}, ready: make(chan struct{}, 1), closed: make(chan struct{})}
}

func (q *podQueue) add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := pod.Namespace + "/" + pod.Name
	if q.seen[key] {
		return
	}
	q.seen[key] = true
	q.items = append(q.items, pod)
	q.signal()
}

func (q *podQueue) forget(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.seen, pod.Namespace+"/"+pod.Name)
}

// signal leaves a token for a waiting worker; q.mu is held.
func (q *podQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *podQueue) close() { q.once.Do(func() { close(q.closed) }) }

// next returns the oldest pod, waiting for one; false once the queue is
// closed or ctx ends.
func (q *podQueue) next(ctx context.Context) (*corev1.Pod, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			pod := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			if len(q.items) > 0 {
				q.signal()
			}
			q.mu.Unlock()
			return pod, true
		}
		q.mu.Unlock()
		select {
		case <-q.ready:
		case <-q.closed:
			return nil, false
		case <-ctx.Done():
			return nil, false
		}
	}
}
