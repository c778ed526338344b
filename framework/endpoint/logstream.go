package endpoint

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"
)

// maxLineBytes bounds what is held back waiting for the end of a line: a
// longer run of bytes without a newline (never written by a CRI log writer,
// which cuts long lines into partial records) is written as it is.
const maxLineBytes = 1 << 20

// logRequest is one /containerLogs request.
type logRequest struct {
	namespace, pod, container string
	opts                      logOptions
}

// openLog finds the container's log file and where to start reading it
// (tailLines counted back from its current end). Its errors come before any
// byte of the answer: ErrNotFound (404), errAgent (502) or the locator's.
func (s *Server) openLog(ctx context.Context, req logRequest) (agentFile, int64, error) {
	agentURL, path, err := s.cfg.Logs.LogFile(req.namespace, req.pod, req.container, req.opts.previous)
	if err != nil {
		return agentFile{}, 0, err
	}
	f := s.agentFile(agentURL, path)
	size, err := f.size(ctx)
	if err != nil {
		return agentFile{}, 0, err
	}
	start, err := tailStart(ctx, f, size, req.opts.tailLines)
	if err != nil {
		return agentFile{}, 0, err
	}
	return f, start, nil
}

func (s *Server) agentFile(agentURL, path string) agentFile {
	return agentFile{client: s.cfg.AgentClient, agentURL: agentURL, path: path}
}

// copyLog writes the log from offset pos of f to w as the kubelet would,
// calling flush after every chunk read. Without follow it ends at the end
// of the file (or after tailLines lines, or limitBytes bytes). With follow
// it polls the file for more every PollInterval until ctx ends; a newer log
// file reported by the locator (the container restarted) is read once the
// current one has been read to its end; the log ends once the pod is gone,
// or once the container stopped if the locator reports that.
func (s *Server) copyLog(ctx context.Context, w io.Writer, flush func(), req logRequest, f agentFile, pos int64) error {
	o := req.opts
	lw := newLogWriter(w, o, s.cfg.Clock.Now())
	follow := o.follow && !o.previous // a previous run's log does not grow
	limited := o.tailLines >= 0 && !o.follow
	remaining := o.tailLines
	running, _ := s.cfg.Logs.(RunningReporter)

	var pending []byte // bytes read but not yet written: an incomplete line
	// writeLines writes the complete lines of pending (all of it when
	// final); done reports that the log is complete.
	writeLines := func(final bool) (done bool, err error) {
		for len(pending) > 0 {
			if limited && remaining <= 0 {
				return true, nil
			}
			i := bytes.IndexByte(pending, '\n')
			if i < 0 && !final && len(pending) < maxLineBytes {
				return false, nil
			}
			line := pending
			if i >= 0 {
				line = pending[:i+1]
			}
			pending = pending[len(line):]
			if err := lw.write(parseRecord(line)); err != nil {
				if errors.Is(err, errLimitReached) {
					return true, nil
				}
				return true, err
			}
			remaining--
		}
		return limited && remaining <= 0, nil
	}
	finish := func() error {
		_, err := writeLines(true)
		flush()
		return err
	}

	var (
		next     *agentFile // a newer log file, read once f is read to its end
		stopping bool       // the container stopped: end at the end of f
	)
	for {
		data, at, err := f.read(ctx, pos, readChunk)
		if err != nil {
			if follow && (stopping || next != nil) && errors.Is(err, ErrNotFound) {
				err = nil // the old file went away with its pod or run
			}
			if ferr := finish(); err == nil {
				err = ferr
			}
			return err
		}
		if len(data) > 0 {
			pos += int64(len(data))
			pending = append(pending, data...)
			done, err := writeLines(false)
			flush()
			if done || err != nil {
				return err
			}
			continue
		}
		// At the end of f. A Mesos agent answers a read past the end with
		// the offset asked for, so a file that shrank is told by its size.
		if at < pos || pos > 0 && f.shrank(ctx, pos) {
			// The file shrank: truncated or replaced at the same path.
			if _, err := writeLines(true); err != nil {
				return err
			}
			pos = 0
			continue
		}
		if !follow || stopping {
			return finish()
		}
		if next != nil {
			if _, err := writeLines(true); err != nil {
				return err
			}
			f, pos, next = *next, 0, nil
			continue
		}
		agentURL, path, err := s.cfg.Logs.LogFile(req.namespace, req.pod, req.container, false)
		switch {
		case errors.Is(err, ErrNotFound):
			stopping = true // the pod is gone: read what is left, then end
			continue
		case err != nil:
			s.log.Warn("cannot locate a followed log", "namespace", req.namespace, "pod", req.pod, "container", req.container, "error", err)
		case agentURL != f.agentURL || path != f.path:
			nf := s.agentFile(agentURL, path)
			next = &nf
			continue // read f to its end once more: its last lines may have come since
		case running != nil && !running.Running(req.namespace, req.pod, req.container):
			stopping = true
			continue
		}
		flush()
		if !s.sleep(ctx, s.cfg.PollInterval) {
			return finish()
		}
	}
}

// sleep waits d on the configured clock; false if ctx ended first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	fired := make(chan struct{})
	t := s.cfg.Clock.AfterFunc(d, func() { close(fired) })
	select {
	case <-fired:
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}
