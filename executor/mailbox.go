package executor

import "sync"

// mailbox is the daemon loop's unbounded inbox of work: whoever has news
// for the loop (the agent stream, a pod's status callback, a timer) posts a
// function, and the loop runs them one at a time, in order. Posting never
// blocks, so a pod's runner is never held up by the loop.
type mailbox struct {
	mu     sync.Mutex
	queue  []func()
	notify chan struct{}
}

func newMailbox() *mailbox { return &mailbox{notify: make(chan struct{}, 1)} }

func (m *mailbox) post(f func()) {
	m.mu.Lock()
	m.queue = append(m.queue, f)
	m.mu.Unlock()
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// take returns the work posted so far.
func (m *mailbox) take() []func() {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queue
	m.queue = nil
	return q
}
