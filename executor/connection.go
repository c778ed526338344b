package executor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
)

// firstBackoff is the wait before the first attempt to resubscribe; it
// doubles up to Env.SubscriptionBackoffMax.
const firstBackoff = 100 * time.Millisecond

// firstSubscribeTimeout bounds the retries of the first SUBSCRIBE (Mesos'
// default executor registration timeout).
const firstSubscribeTimeout = time.Minute

// connection is one subscription to the agent: its SUBSCRIBE call and the
// event stream it answered with.
type connection struct {
	cancel context.CancelFunc

	mu   sync.Mutex
	resp mesos.Response
}

func (c *connection) close() {
	c.cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.resp != nil {
		c.resp.Close()
	}
}

// connect subscribes, with the tasks and updates the agent has not
// acknowledged, and reads the event stream into the mailbox. Events of an
// older connection are ignored by generation.
func (d *Daemon) connect() {
	d.generation++
	gen := d.generation
	d.connected = false
	ctx, cancel := context.WithCancel(context.Background())
	c := &connection{cancel: cancel}
	d.conn = c
	var tasks []mesos.TaskInfo
	for _, id := range d.order {
		if t := d.tasks[id]; t != nil && !t.acked {
			tasks = append(tasks, t.info)
		}
	}
	updates := make([]executor.Call_Update, 0, len(d.unacked))
	for _, u := range d.unacked {
		updates = append(updates, executor.Call_Update{Status: u.status})
		u.sentOn = gen
	}
	call := calls.Subscribe(tasks, updates)
	d.log.Debug("subscribing", "unacknowledged_tasks", len(tasks), "unacknowledged_updates", len(updates))
	go func() {
		resp, err := d.cfg.Subscriber.Send(ctx, calls.NonStreaming(call))
		if err != nil {
			d.inbox.post(func() { d.lost(gen, fmt.Errorf("subscribe: %w", err)) })
			return
		}
		c.mu.Lock()
		c.resp = resp
		c.mu.Unlock()
		if ctx.Err() != nil {
			resp.Close()
			return
		}
		for {
			ev := &executor.Event{}
			if err := resp.Decode(ev); err != nil {
				resp.Close()
				d.inbox.post(func() { d.lost(gen, fmt.Errorf("event stream: %w", err)) })
				return
			}
			d.inbox.post(func() { d.handleEvent(gen, ev) })
		}
	}()
}

// lost handles the end of a subscription, or a SUBSCRIBE that failed: a
// framework that checkpoints keeps its pods while the executor resubscribes
// with back-off for up to the recovery timeout; otherwise the executor shuts
// down. The first SUBSCRIBE is retried the same way, for up to a minute.
func (d *Daemon) lost(gen int, err error) {
	if gen != d.generation {
		return
	}
	d.connected = false
	if d.conn != nil {
		d.conn.close()
		d.conn = nil
	}
	if d.shutdown != nil {
		d.log.Info("disconnected from the agent while shutting down", "error", err)
		d.maybeExit()
		return
	}
	if !d.env.Checkpoint && d.everSubscribed {
		d.log.Warn("disconnected from the agent; the framework does not checkpoint, so the executor shuts down", "error", err)
		d.beginShutdown("lost the agent")
		return
	}
	now := d.clock.Now()
	if d.disconnected.IsZero() {
		d.disconnected = now
		d.backoff = firstBackoff
	}
	recovery := d.env.RecoveryTimeout
	if !d.everSubscribed {
		// The agent has just started this executor: it may still be
		// getting ready, and it kills an executor that does not subscribe
		// within its registration timeout anyway.
		recovery = min(recovery, firstSubscribeTimeout)
	}
	if now.Sub(d.disconnected) >= recovery {
		d.log.Warn("could not resubscribe within the recovery timeout; shutting down", "recovery_timeout", d.env.RecoveryTimeout, "error", err)
		d.exitErr = errors.New("lost the agent for longer than the recovery timeout")
		d.beginShutdown("recovery timeout")
		return
	}
	wait := min(d.backoff, d.env.SubscriptionBackoffMax, d.disconnected.Add(recovery).Sub(now))
	d.backoff = min(2*d.backoff, d.env.SubscriptionBackoffMax)
	d.log.Info("disconnected from the agent; resubscribing", "error", err, "retry_in", wait)
	d.after(wait, func() {
		if d.conn == nil && d.shutdown == nil {
			d.connect()
		}
	})
}
