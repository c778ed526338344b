package inventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/apierrors"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpmaster"
	"github.com/mesos/mesos-go/api/v1/lib/master"
	"github.com/mesos/mesos-go/api/v1/lib/master/calls"
)

// Source is the master to follow.
type Source struct {
	// URL is the master's base URL (http://host:port).
	URL string
	// Principal and Secret authenticate (HTTP basic) if set.
	Principal, Secret string
}

// Handler is told of what Follow applies.
type Handler struct {
	// Added is called for every agent added (all agents of a SUBSCRIBED's
	// state, then each AGENT_ADDED), after the inventory has it.
	Added func(Agent)
	// Executor is called, before Synced, for every executor in a
	// SUBSCRIBED's state (the operator API reports no executor events).
	Executor func(agentID string, info mesos.ExecutorInfo)
	// Synced is called after each SUBSCRIBED was applied.
	Synced func()
	// Refused is called when the master refuses the operator API.
	Refused func()
}

// Back-off between subscriptions, and after a master that refuses the
// operator API (no such endpoint, or our principal may not subscribe).
const (
	minBackoff     = 500 * time.Millisecond
	maxBackoff     = 30 * time.Second
	refusedBackoff = 5 * time.Minute
	// heartbeatMisses: a stream with no event for this many heartbeat
	// intervals is taken for dead (a half-open connection) and renewed.
	heartbeatMisses = 3
	// maxRedirects bounds the 307s followed in a row (masters that point
	// at each other while they elect a leader), as mesos-go bounds the
	// scheduler API's.
	maxRedirects = 3
)

// ErrRefused wraps an answer that says the operator API is not for us:
// 401, 403 or 404.
var ErrRefused = errors.New("the master refused the operator API")

// notLeaderError is a master's 307: it is not the leader, and Leader is
// the base URL of the master it names as the leader.
type notLeaderError struct{ Leader string }

func (e *notLeaderError) Error() string {
	return "the master is not the leader; the leader is " + e.Leader
}

// Follow subscribes to src's operator API and applies its events to inv
// until ctx ends, subscribing again with back-off whenever the stream ends.
// A master that is not the leader answers with a redirect to the leader,
// which is followed at once (the scheduler API's client does the same); each
// new subscription starts again at src, so a new leader is found the same
// way. A master that refuses the operator API is logged once and asked again
// every 5 minutes; the inventory then stays unsynced and decides nothing.
func Follow(ctx context.Context, src Source, inv *Inventory, h Handler, log *slog.Logger) {
	backoff := minBackoff
	refusedLogged := false
	at, redirects := src, 0
	for ctx.Err() == nil {
		synced, err := followOnce(ctx, at, inv, h)
		inv.Unsynced()
		if ctx.Err() != nil {
			return
		}
		var moved *notLeaderError
		if errors.As(err, &moved) && redirects < maxRedirects {
			redirects++
			log.Info("the master is not the leader: following its redirect", "master", at.URL, "leader", moved.Leader)
			at.URL = moved.Leader
			continue
		}
		at, redirects = src, 0
		wait := backoff
		switch {
		case errors.Is(err, ErrRefused):
			wait = refusedBackoff
			if h.Refused != nil {
				h.Refused()
			}
			if !refusedLogged {
				log.Warn("the master's operator API is not available to this framework: agents are known from offers only, and a pod whose host port no agent has waits instead of failing", "err", err)
				refusedLogged = true
			}
		case synced:
			backoff = minBackoff
			wait = backoff
			log.Info("operator API stream ended; subscribing again", "err", err)
		default:
			backoff = min(2*backoff, maxBackoff)
			log.Debug("operator API subscription failed", "err", err, "backoff", wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// followOnce runs one operator API subscription; synced reports whether it
// got as far as SUBSCRIBED.
func followOnce(ctx context.Context, src Source, inv *Inventory, h Handler) (synced bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := []httpcli.ConfigOpt{}
	if src.Principal != "" {
		opts = append(opts, httpcli.BasicAuth(src.Principal, src.Secret))
	}
	cli := httpcli.New(
		httpcli.Endpoint(src.URL+"/api/v1"),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(opts...)),
	)
	resp, err := httpmaster.NewSender(cli.Send).Send(ctx, calls.NonStreaming(calls.Subscribe()))
	if apierrors.CodeNotLeader.Matches(err) {
		return false, redirected(src.URL, resp)
	}
	if err != nil {
		if resp != nil {
			_ = resp.Close()
		}
		if apierrors.CodeNotAuthenticated.Matches(err) || apierrors.CodeUnsubscribed.Matches(err) || apierrors.CodeNotFound.Matches(err) {
			return false, fmt.Errorf("%w: %v", ErrRefused, err)
		}
		return false, fmt.Errorf("operator API subscribe: %w", err)
	}
	defer resp.Close()
	// A watchdog renews a stream that stays silent past its heartbeats.
	var (
		watchdog *time.Timer
		quiet    time.Duration
	)
	defer func() {
		if watchdog != nil {
			watchdog.Stop()
		}
	}()
	for {
		var ev master.Event
		if err := resp.Decode(&ev); err != nil {
			return synced, fmt.Errorf("operator API event stream: %w", err)
		}
		if watchdog != nil {
			watchdog.Reset(quiet)
		}
		added := inv.Apply(&ev)
		if h.Added != nil {
			for _, a := range added {
				h.Added(a)
			}
		}
		if ev.GetType() != master.Event_SUBSCRIBED {
			continue
		}
		synced = true
		if s := ev.GetSubscribed().GetHeartbeatIntervalSeconds(); s > 0 && watchdog == nil {
			quiet = heartbeatMisses * time.Duration(s*float64(time.Second))
			watchdog = time.AfterFunc(quiet, func() { _ = resp.Close() })
		}
		if h.Executor != nil {
			for _, e := range ev.GetSubscribed().GetGetState().GetGetExecutors().GetExecutors() {
				h.Executor(e.AgentID.Value, e.ExecutorInfo)
			}
		}
		if h.Synced != nil {
			h.Synced()
		}
	}
}

// redirected turns a 307 answer into a notLeaderError naming the leader's
// base URL: Mesos sends Location as //host:port/path, so the leader keeps
// the scheme and path of the URL we were given and takes its host.
func redirected(base string, resp mesos.Response) error {
	var location string
	if r, ok := resp.(*httpcli.Response); ok {
		location = r.Header.Get("Location")
	}
	if resp != nil {
		_ = resp.Close()
	}
	leader, err := url.Parse(location)
	if err != nil || leader.Host == "" {
		return fmt.Errorf("operator API subscribe: the master is not the leader and names no leader (Location %q)", location)
	}
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("operator API subscribe: master URL %q: %w", base, err)
	}
	if u.Host == leader.Host {
		return fmt.Errorf("operator API subscribe: the master redirects to itself (Location %q)", location)
	}
	u.Host = leader.Host
	return &notLeaderError{Leader: u.String()}
}
