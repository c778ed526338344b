package runner

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// publisher delivers statuses to OnStatus in order, from one goroutine, so
// that a slow callback never holds the pod's lock; it closes done after the
// last status once the pod has finished.
type publisher struct {
	onStatus func(*corev1.PodStatus)
	done     chan struct{}

	mu       sync.Mutex
	queue    []*corev1.PodStatus
	last     *corev1.PodStatus
	finished bool
	closed   bool
	running  bool
}

func newPublisher(onStatus func(*corev1.PodStatus), done chan struct{}) *publisher {
	if onStatus == nil {
		onStatus = func(*corev1.PodStatus) {}
	}
	return &publisher{onStatus: onStatus, done: done}
}

// push queues s unless it equals the status queued last; final marks the
// pod's last status. It reports whether s was queued.
func (q *publisher) push(s *corev1.PodStatus, final bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	queued := false
	if q.last == nil || !equality.Semantic.DeepEqual(q.last, s) {
		q.queue = append(q.queue, s)
		q.last = s
		queued = true
	}
	q.finished = q.finished || final
	if !q.running && (len(q.queue) > 0 || q.finished) {
		q.running = true
		go q.drain()
	}
	return queued
}

// drain runs while there are statuses to deliver; a goroutine per burst
// keeps an idle pod free of goroutines.
func (q *publisher) drain() {
	for {
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.running = false
			if q.finished && !q.closed {
				q.closed = true
				close(q.done)
			}
			q.mu.Unlock()
			return
		}
		s := q.queue[0]
		q.queue[0] = nil
		q.queue = q.queue[1:]
		q.mu.Unlock()
		q.onStatus(s.DeepCopy())
	}
}
