package node

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// Writer decides when a node's status is written: when it changed
// materially (labels, allocatable, readiness) and the last write is at least
// MinInterval old, or when the last write is older than Refresh. Callers
// pass the time; it does no I/O.
type Writer struct {
	MinInterval, Refresh time.Duration
	last                 map[string]written
}

type written struct {
	node *corev1.Node
	at   time.Time
}

// NewWriter returns a Writer.
func NewWriter(minInterval, refresh time.Duration) *Writer {
	return &Writer{MinInterval: minInterval, Refresh: refresh, last: map[string]written{}}
}

// Due reports whether desired should be written now.
func (w *Writer) Due(desired *corev1.Node, now time.Time) bool {
	l, ok := w.last[desired.Name]
	if !ok {
		return true
	}
	if now.Sub(l.at) >= w.Refresh {
		return true
	}
	return now.Sub(l.at) >= w.MinInterval && Material(l.node, desired)
}

// Held reports whether desired differs materially from the last write but
// waits for MinInterval to pass.
func (w *Writer) Held(desired *corev1.Node, now time.Time) bool {
	l, ok := w.last[desired.Name]
	return ok && now.Sub(l.at) < w.MinInterval && Material(l.node, desired)
}

// WrittenAt is when the node was last written (false: never).
func (w *Writer) WrittenAt(name string) (time.Time, bool) {
	l, ok := w.last[name]
	return l.at, ok
}

// Last is the node as last written.
func (w *Writer) Last(name string) (*corev1.Node, bool) {
	l, ok := w.last[name]
	return l.node, ok
}

// Expire makes a written node due now, as if its refresh had come.
func (w *Writer) Expire(name string) {
	if l, ok := w.last[name]; ok {
		l.at = time.Time{}
		w.last[name] = l
	}
}

// Wrote records a successful write.
func (w *Writer) Wrote(n *corev1.Node, now time.Time) { w.last[n.Name] = written{node: n, at: now} }

// Forget drops a deleted node.
func (w *Writer) Forget(name string) { delete(w.last, name) }

// Material reports whether b differs from a in what the scheduler reads.
func Material(a, b *corev1.Node) bool {
	if !apiequality.Semantic.DeepEqual(a.Labels, b.Labels) || !apiequality.Semantic.DeepEqual(a.Spec.Taints, b.Spec.Taints) {
		return true
	}
	if !apiequality.Semantic.DeepEqual(a.Status.Allocatable, b.Status.Allocatable) {
		return true
	}
	return ReadyStatus(a) != ReadyStatus(b)
}

// ReadyStatus is the status of n's Ready condition ("" without one).
func ReadyStatus(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return ""
}
