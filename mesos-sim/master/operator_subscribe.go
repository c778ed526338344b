package master

import (
	"net/http"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	opapi "github.com/mesos/mesos-go/api/v1/lib/master"

	"github.com/kubemesos/kubemesos/internal/clock"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// subscribe serves the operator API's SUBSCRIBE: a 200 event stream in the
// negotiated encoding that starts with SUBSCRIBED (the whole state and the
// heartbeat interval), then carries every operator event (TASK_ADDED,
// TASK_UPDATED, FRAMEWORK_*, AGENT_*) and a HEARTBEAT each interval, the
// first one interval after subscribing. The state is copied and the stream
// registered as an observer under one hold of the master's lock, so no
// event is lost or duplicated between them; events that arrive while the
// SUBSCRIBED event is being built, without the lock, wait behind it. At
// most DefaultMaxOperatorSubscribers streams are open at once; more get 503.
func (op *operator) subscribe(w http.ResponseWriter, r *http.Request, codec wire.Codec) {
	if n := op.subscribers.Add(1); n > DefaultMaxOperatorSubscribers {
		op.subscribers.Add(-1)
		wire.Errorf(http.StatusServiceUnavailable, "Maximum number of subscribers (%d) has been reached", DefaultMaxOperatorSubscribers).Write(w)
		return
	}
	defer op.subscribers.Add(-1)

	m := op.m
	stream := wire.NewStream(codec)
	var (
		mu      sync.Mutex
		started bool
		pending []Event
	)
	send := func(ev Event) {
		// Events are shared between observers and never modified after
		// emit; the stream keeps its own copy of the top-level value.
		_ = stream.Send(&ev)
	}
	store, _ := op.taskStores.Get().(*[]mesos.Task)
	if store == nil {
		store = new([]mesos.Task)
	}
	v := &stateView{}
	m.mu.Lock()
	m.viewLocked(v, store)
	id := m.nextObserver
	m.nextObserver++
	m.observers[id] = func(ev Event) {
		mu.Lock()
		defer mu.Unlock()
		if started {
			send(ev)
		} else {
			pending = append(pending, ev)
		}
	}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.observers, id)
		m.mu.Unlock()
	}()

	interval := m.cfg.HeartbeatInterval
	seconds := interval.Seconds()
	subscribed := Event{Type: opapi.Event_SUBSCRIBED, Subscribed: &opapi.Event_Subscribed{
		GetState:                 v1State(v),
		HeartbeatIntervalSeconds: &seconds,
	}}
	op.releaseView(v)
	mu.Lock()
	send(subscribed)
	for _, ev := range pending {
		send(ev)
	}
	pending, started = nil, true
	mu.Unlock()

	hb := &heartbeats{}
	hb.start(m.clock, interval, func() bool {
		return stream.Send(&Event{Type: opapi.Event_HEARTBEAT}) == nil
	})
	defer hb.stop()
	m.log.Debug("operator subscribed to events", "remote", r.RemoteAddr)
	if err := stream.Serve(r.Context(), w, nil); err != nil && r.Context().Err() == nil {
		m.log.Warn("operator event stream failed", "remote", r.RemoteAddr, "err", err)
	}
}

// heartbeats calls beat every interval until beat reports false or stop is
// called.
type heartbeats struct {
	mu      sync.Mutex
	timer   clock.Timer
	stopped bool
}

// start schedules the first beat one interval from now.
func (h *heartbeats) start(c clock.Clock, interval time.Duration, beat func() bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var tick func()
	tick = func() {
		if !beat() {
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if !h.stopped {
			h.timer = c.AfterFunc(interval, tick)
		}
	}
	h.timer = c.AfterFunc(interval, tick)
}

// stop cancels the pending beat and any further ones.
func (h *heartbeats) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	if h.timer != nil {
		h.timer.Stop()
	}
}
