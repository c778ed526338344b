package framework

import (
	"context"
	"errors"
	"fmt"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// Back-off between subscription attempts.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 15 * time.Second
)

// frameworkInfo is what the framework subscribes with.
func (f *Framework) frameworkInfo(id string) *mesos.FrameworkInfo {
	failover := f.cfg.FailoverTimeout.Seconds()
	checkpoint := true
	hostname := f.cfg.KubeletHost
	info := &mesos.FrameworkInfo{
		User:            f.cfg.User,
		Name:            f.cfg.FrameworkName,
		Roles:           append([]string(nil), f.cfg.Roles...),
		FailoverTimeout: &failover,
		Checkpoint:      &checkpoint,
		Hostname:        &hostname,
		Capabilities: []mesos.FrameworkInfo_Capability{
			{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE},
			{Type: mesos.FrameworkInfo_Capability_PARTITION_AWARE},
			{Type: mesos.FrameworkInfo_Capability_TASK_KILLING_STATE},
			{Type: mesos.FrameworkInfo_Capability_RESERVATION_REFINEMENT},
		},
	}
	if f.cfg.Principal != "" {
		p := f.cfg.Principal
		info.Principal = &p
	}
	if id != "" {
		info.ID = &mesos.FrameworkID{Value: id}
	}
	return info
}

func (f *Framework) newCaller() calls.Caller {
	cfgOpts := []httpcli.ConfigOpt{httpcli.Timeout(20 * time.Second)}
	if f.cfg.Principal != "" {
		cfgOpts = append(cfgOpts, httpcli.BasicAuth(f.cfg.Principal, f.cfg.Secret))
	}
	cli := httpcli.New(
		httpcli.Endpoint(f.cfg.MesosURL+"/api/v1/scheduler"),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(cfgOpts...)),
	)
	return httpsched.NewCaller(cli)
}

// subscribeLoop subscribes, handles the event stream until it ends, and
// subscribes again with back-off, until ctx ends.
func (f *Framework) subscribeLoop(ctx context.Context) error {
	backoff := minBackoff
	for ctx.Err() == nil {
		subscribed, err := f.subscribeOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errFrameworkRemoved) {
			// The master forgot us for good (failover timeout passed or
			// torn down): start afresh as a new framework.
			f.log.Warn("the master removed this framework; subscribing as a new framework", "framework_id", f.FrameworkID())
			f.setFrameworkID("")
		}
		if subscribed {
			backoff = minBackoff
		}
		f.log.Warn("subscription ended; subscribing again", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-f.clock.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
	return nil
}

var errFrameworkRemoved = errors.New("framework removed by the master")

// subscribeOnce runs one subscription. subscribed reports whether it got as
// far as SUBSCRIBED.
func (f *Framework) subscribeOnce(ctx context.Context) (subscribed bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	caller := f.newCaller()
	id := f.FrameworkID()
	call := calls.Subscribe(f.frameworkInfo(id))
	if id != "" {
		call.FrameworkID = &mesos.FrameworkID{Value: id}
	}
	resp, err := caller.Call(ctx, call)
	if err != nil {
		return false, fmt.Errorf("subscribe: %w", err)
	}
	defer resp.Close()
	defer f.disconnected()
	for {
		var ev scheduler.Event
		if err := resp.Decode(&ev); err != nil {
			return subscribed, fmt.Errorf("event stream: %w", err)
		}
		switch ev.GetType() {
		case scheduler.Event_SUBSCRIBED:
			subscribed = true
			f.onSubscribed(ctx, caller, ev.GetSubscribed())
		case scheduler.Event_ERROR:
			msg := ev.GetError().GetMessage()
			if msg == "Framework has been removed" {
				return subscribed, fmt.Errorf("%w: %s", errFrameworkRemoved, msg)
			}
			return subscribed, fmt.Errorf("master error: %s", msg)
		default:
			f.handle(ctx, &ev)
		}
	}
}

func (f *Framework) setFrameworkID(id string) {
	f.callMu.Lock()
	defer f.callMu.Unlock()
	f.frameworkID = id
}

func (f *Framework) onSubscribed(ctx context.Context, caller calls.Caller, s *scheduler.Event_Subscribed) {
	id := s.GetFrameworkID().GetValue()
	f.callMu.Lock()
	changed := f.frameworkID != id
	f.frameworkID = id
	f.caller = caller
	f.callMu.Unlock()
	f.metrics.subscriptions.Inc()
	f.log.Info("subscribed", "framework_id", id)
	if changed {
		if err := f.saveFrameworkID(ctx, id); err != nil {
			f.log.Error("could not save the framework ID; a restart would register a new framework", "framework_id", id, "err", err)
		}
	}
	f.demandMu.Lock()
	f.demand.Resubscribed()
	f.demandMu.Unlock()
	f.reconcile(ctx)
	f.readyOnce.Do(func() { close(f.ready) })
}

// disconnected forgets the subscription: the master discards our offers.
func (f *Framework) disconnected() {
	f.callMu.Lock()
	f.caller = nil
	f.callMu.Unlock()
	f.pool.Clear()
}

// call sends a call on the current subscription.
func (f *Framework) call(ctx context.Context, call *scheduler.Call) error {
	f.callMu.RLock()
	caller, id := f.caller, f.frameworkID
	f.callMu.RUnlock()
	if caller == nil {
		return ErrNotSubscribed
	}
	call.FrameworkID = &mesos.FrameworkID{Value: id}
	resp, err := caller.Call(ctx, call)
	if resp != nil {
		resp.Close()
	}
	if err != nil {
		return fmt.Errorf("mesos %s: %w", call.GetType(), err)
	}
	return nil
}
