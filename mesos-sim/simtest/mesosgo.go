package simtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/apierrors"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// Client is what contract tests need of a scheduler client. Two
// implementations run the same cases: the plain HTTP Scheduler and
// MesosGoScheduler, which is mesos-go's own httpsched client.
type Client interface {
	Call(*scheduler.Call) (int, string, error)
	Next(timeout time.Duration) (*scheduler.Event, error)
	Await(t scheduler.Event_Type, timeout time.Duration) (*scheduler.Event, error)
	FrameworkID() string
	Close()
}

// MesosGoScheduler drives mesos-go's httpsched client (protobuf), as an
// unmodified Mesos v1 framework would.
type MesosGoScheduler struct {
	caller calls.Caller
	cancel context.CancelFunc

	mu          sync.Mutex
	frameworkID string
	events      chan *scheduler.Event
	errc        chan error
}

// SubscribeMesosGo subscribes through mesos-go's httpsched caller.
func SubscribeMesosGo(url string, info *mesos.FrameworkInfo) (*MesosGoScheduler, error) {
	cli := httpcli.New(
		httpcli.Endpoint(url),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(httpcli.Timeout(20*time.Second))),
	)
	ctx, cancel := context.WithCancel(context.Background())
	s := &MesosGoScheduler{caller: httpsched.NewCaller(cli), cancel: cancel, events: make(chan *scheduler.Event, 1024), errc: make(chan error, 1)}
	resp, err := s.caller.Call(ctx, calls.Subscribe(info))
	if err != nil {
		cancel()
		return nil, err
	}
	go func() {
		defer resp.Close()
		for {
			var ev scheduler.Event
			if err := resp.Decode(&ev); err != nil {
				s.errc <- err
				close(s.events)
				return
			}
			if ev.Type == scheduler.Event_SUBSCRIBED {
				s.mu.Lock()
				s.frameworkID = ev.Subscribed.FrameworkID.GetValue()
				s.mu.Unlock()
			}
			s.events <- &ev
		}
	}()
	return s, nil
}

// FrameworkID is the id from SUBSCRIBED.
func (s *MesosGoScheduler) FrameworkID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frameworkID
}

// Call sends a call through mesos-go (which adds the stream id) and maps its
// answer back to a status code.
func (s *MesosGoScheduler) Call(call *scheduler.Call) (int, string, error) {
	if call.FrameworkID == nil {
		call.FrameworkID = &mesos.FrameworkID{Value: s.FrameworkID()}
	}
	resp, err := s.caller.Call(context.Background(), call)
	if resp != nil {
		resp.Close()
	}
	if err == nil {
		if call.Type == scheduler.Call_UPDATE_FRAMEWORK {
			return http.StatusOK, "", nil
		}
		return http.StatusAccepted, "", nil
	}
	var apiErr *apierrors.Error
	if errors.As(err, &apiErr) {
		return apiErrorCode(apiErr), apiErr.Error(), nil
	}
	return 0, "", err
}

// Next returns the next event.
func (s *MesosGoScheduler) Next(timeout time.Duration) (*scheduler.Event, error) {
	select {
	case ev, ok := <-s.events:
		if !ok {
			return nil, fmt.Errorf("stream ended: %w", <-s.errc)
		}
		return ev, nil
	case <-time.After(timeout):
		return nil, errors.New("timed out waiting for an event")
	}
}

// Await skips events until one of type t.
func (s *MesosGoScheduler) Await(t scheduler.Event_Type, timeout time.Duration) (*scheduler.Event, error) {
	return await(s, t, timeout)
}

// Close ends the subscription.
func (s *MesosGoScheduler) Close() { s.cancel() }

func await(c Client, t scheduler.Event_Type, timeout time.Duration) (*scheduler.Event, error) {
	deadline := time.Now().Add(timeout)
	for {
		ev, err := c.Next(time.Until(deadline))
		if err != nil {
			return nil, fmt.Errorf("waiting for %s: %w", t, err)
		}
		if ev.Type == t {
			return ev, nil
		}
	}
}

// apiErrorCode recovers the HTTP status of a mesos-go API error, which keeps
// its code unexported but can say whether it matches one.
func apiErrorCode(err *apierrors.Error) int {
	for code := 300; code < 600; code++ {
		if apierrors.Code(code).Matches(err) {
			return code
		}
	}
	return 0
}
