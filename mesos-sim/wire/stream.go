package wire

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
)

// MaxFrameBytes is the largest RecordIO record a stream writes. mesos-go's
// reader refuses records of 4 MiB or more, so bigger events are split (see
// Stream.Split) before they reach the client.
const MaxFrameBytes = 4<<20 - 64<<10

// ErrStreamClosed is returned by Send after the stream has ended.
var ErrStreamClosed = errors.New("stream closed")

// Stream is a RecordIO event stream on one HTTP response. Send queues an
// event without blocking (the master calls it under its lock); one goroutine
// (Serve) encodes, writes and flushes, so a slow client never stalls the
// master. Events must not be modified after they are sent.
type Stream struct {
	codec Codec
	// Split, when set, is asked to cut an event whose encoding exceeds
	// MaxFrameBytes into smaller ones; returning nil or a single event drops
	// it with an error.
	Split func(Message) []Message

	mu      sync.Mutex
	queue   []Message
	closing bool // no more events accepted; Serve drains then returns
	wake    chan struct{}
	done    chan struct{}
	err     error
}

// NewStream returns a stream that encodes events with c.
func NewStream(c Codec) *Stream {
	return &Stream{codec: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Codec returns the stream's codec.
func (s *Stream) Codec() Codec { return s.codec }

// Send queues m. It returns ErrStreamClosed once the stream is closing.
func (s *Stream) Send(m Message) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrStreamClosed
	}
	s.queue = append(s.queue, m)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close ends the stream after the queued events have been written (last, if
// non-nil, is queued first: an ERROR event before closing, say).
func (s *Stream) Close(last Message) {
	s.mu.Lock()
	if !s.closing {
		if last != nil {
			s.queue = append(s.queue, last)
		}
		s.closing = true
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Done is closed when Serve has returned.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Err is why the stream ended (nil after a clean Close).
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Serve writes the response headers at once (clients time out waiting for
// them), then the queued events, until Close, ctx ends or the client goes
// away. header holds extra headers such as Mesos-Stream-Id.
func (s *Stream) Serve(ctx context.Context, w http.ResponseWriter, header http.Header) error {
	defer close(s.done)
	for k, vs := range header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", s.codec.MediaType)
	w.Header().Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var batch []Message
	for {
		s.mu.Lock()
		batch, s.queue = s.queue, batch[:0]
		closing := s.closing
		s.mu.Unlock()
		for _, m := range batch {
			if err := s.writeEvent(bw, m); err != nil {
				return s.finish(err)
			}
		}
		clear(batch)
		if err := bw.Flush(); err != nil {
			return s.finish(err)
		}
		if flusher != nil {
			flusher.Flush()
		}
		if closing && len(batch) == 0 {
			s.mu.Lock()
			empty := len(s.queue) == 0
			s.mu.Unlock()
			if empty {
				return s.finish(nil)
			}
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return s.finish(ctx.Err())
		}
	}
}

func (s *Stream) finish(err error) error {
	s.mu.Lock()
	s.closing = true
	s.queue = nil
	s.err = err
	s.mu.Unlock()
	return err
}

func (s *Stream) writeEvent(bw *bufio.Writer, m Message) error {
	b, err := s.codec.Marshal(m)
	if err != nil {
		return err
	}
	if len(b) > MaxFrameBytes {
		if s.Split == nil {
			return errors.New("event exceeds the RecordIO frame limit and cannot be split")
		}
		parts := s.Split(m)
		if len(parts) < 2 {
			return errors.New("event exceeds the RecordIO frame limit and cannot be split")
		}
		for _, p := range parts {
			if err := s.writeEvent(bw, p); err != nil {
				return err
			}
		}
		return nil
	}
	return WriteRecord(bw, b)
}

// WriteRecord writes one RecordIO record: the decimal length, a line feed,
// and the data.
func WriteRecord(w *bufio.Writer, b []byte) error {
	var num [20]byte
	if _, err := w.Write(strconv.AppendInt(num[:0], int64(len(b)), 10)); err != nil {
		return err
	}
	if err := w.WriteByte('\n'); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}
