package simtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// Scheduler is a plain HTTP scheduler client: it posts calls encoded with
// one codec and reads the RecordIO event stream itself, so that tests see
// exactly what is on the wire.
type Scheduler struct {
	URL      string
	Codec    wire.Codec
	StreamID string
	Header   http.Header // extra headers on every request (authentication)

	mu          sync.Mutex
	frameworkID string // extra headers on every request (authentication)

	events chan *scheduler.Event
	errc   chan error
	body   io.Closer
	cancel context.CancelFunc
}

// Subscribe opens a subscription. A refusal (200 with an ERROR event) is
// returned as the first event, with no error.
func Subscribe(url string, codec wire.Codec, info *mesos.FrameworkInfo, header http.Header) (*Scheduler, error) {
	s := &Scheduler{URL: url, Codec: codec, Header: header, events: make(chan *scheduler.Event, 1024), errc: make(chan error, 1)}
	call := &scheduler.Call{Type: scheduler.Call_SUBSCRIBE, Subscribe: &scheduler.Call_Subscribe{FrameworkInfo: info}}
	if info.ID != nil {
		call.FrameworkID = info.ID
	}
	body, err := codec.Marshal(call)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Content-Type", codec.MediaType)
	req.Header.Set("Accept", codec.MediaType)
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		return nil, &StatusError{Code: resp.StatusCode, Body: string(b)}
	}
	if ct := resp.Header.Get("Content-Type"); ct != codec.MediaType {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("SUBSCRIBE answered Content-Type %q, want %q", ct, codec.MediaType)
	}
	s.StreamID = resp.Header.Get("Mesos-Stream-Id")
	s.body = resp.Body
	s.cancel = cancel
	go s.read(resp.Body)
	return s, nil
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Code, e.Body) }

func (s *Scheduler) read(r io.Reader) {
	rr := wire.NewRecordReader(r)
	for {
		b, err := rr.Next()
		if err != nil {
			s.errc <- err
			close(s.events)
			return
		}
		ev := &scheduler.Event{}
		if err := s.Codec.Unmarshal(b, ev); err != nil {
			s.errc <- fmt.Errorf("decode event: %w", err)
			close(s.events)
			return
		}
		if ev.Type == scheduler.Event_SUBSCRIBED && ev.Subscribed.FrameworkID != nil {
			s.mu.Lock()
			s.frameworkID = ev.Subscribed.FrameworkID.Value
			s.mu.Unlock()
		}
		s.events <- ev
	}
}

// Next returns the next event, or an error when the stream ended or timeout
// passed.
func (s *Scheduler) Next(timeout time.Duration) (*scheduler.Event, error) {
	select {
	case ev, ok := <-s.events:
		if !ok {
			return nil, fmt.Errorf("stream ended: %w", <-s.errcOrEOF())
		}
		return ev, nil
	case <-time.After(timeout):
		return nil, errors.New("timed out waiting for an event")
	}
}

func (s *Scheduler) errcOrEOF() chan error {
	c := make(chan error, 1)
	select {
	case err := <-s.errc:
		c <- err
	default:
		c <- io.EOF
	}
	return c
}

// Await skips events until one of type t (HEARTBEATs and other types are
// dropped) and returns it.
func (s *Scheduler) Await(t scheduler.Event_Type, timeout time.Duration) (*scheduler.Event, error) {
	return await(s, t, timeout)
}

// FrameworkID is the id from SUBSCRIBED.
func (s *Scheduler) FrameworkID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frameworkID
}

// Call posts a call with the framework and stream IDs filled in, and returns
// the status code and body.
func (s *Scheduler) Call(call *scheduler.Call) (int, string, error) {
	if id := s.FrameworkID(); call.FrameworkID == nil && id != "" {
		call.FrameworkID = &mesos.FrameworkID{Value: id}
	}
	h := http.Header{"Mesos-Stream-Id": {s.StreamID}}
	for k, vs := range s.Header {
		h[k] = vs
	}
	return Post(s.URL, s.Codec, call, h)
}

// Close ends the subscription from the client side.
func (s *Scheduler) Close() {
	if s.cancel != nil {
		s.cancel()
	}
	if s.body != nil {
		s.body.Close()
	}
}

// Post sends one encoded call and returns the status code and body.
func Post(url string, codec wire.Codec, call wire.Message, header http.Header) (int, string, error) {
	body, err := codec.Marshal(call)
	if err != nil {
		return 0, "", err
	}
	return PostRaw(url, codec.MediaType, body, header)
}

// PostRaw sends a body with the given Content-Type ("" for none).
func PostRaw(url, contentType string, body []byte, header http.Header) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), nil
}
