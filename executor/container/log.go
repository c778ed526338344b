package container

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The CRI log format, as the kubelet's container runtimes write it: one entry
// per line,
//
//	<timestamp> <stream> <tag> <text>
//
// where timestamp is RFC 3339 with nanoseconds (UTC here), stream is "stdout"
// or "stderr", and tag is "F" for a full line or "P" for a part of a line
// longer than LogLineMax (the parts of one line follow each other, the last
// one tagged F). The text has no trailing newline; a line the process left
// unterminated at exit is written as F.
const (
	StreamStdout = "stdout"
	StreamStderr = "stderr"
	// LogLineMax is the longest text of one log entry; longer lines are
	// split into P entries.
	LogLineMax = 16 << 10
)

// LogLine is one parsed CRI log entry.
type LogLine struct {
	Time    time.Time
	Stream  string
	Partial bool
	Text    []byte // aliases the parsed line
}

// ParseLogLine parses one CRI log line (with or without its newline).
func ParseLogLine(line []byte) (LogLine, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	ts, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return LogLine{}, fmt.Errorf("log line %.40q has no stream", line)
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return LogLine{}, fmt.Errorf("log line timestamp: %w", err)
	}
	stream, rest, ok := bytes.Cut(rest, []byte(" "))
	if !ok || (string(stream) != StreamStdout && string(stream) != StreamStderr) {
		return LogLine{}, fmt.Errorf("log line %.40q has no valid stream", line)
	}
	tag, text, ok := bytes.Cut(rest, []byte(" "))
	if !ok && len(rest) == 1 {
		tag, text, ok = rest, nil, true
	}
	if !ok || (string(tag) != "F" && string(tag) != "P") {
		return LogLine{}, fmt.Errorf("log line %.40q has no valid tag", line)
	}
	return LogLine{Time: t, Stream: string(stream), Partial: string(tag) == "P", Text: text}, nil
}

// Log is one container instance's log file, rotated when it exceeds a size:
// path is the current file, path.1 the one before, up to maxFiles files in all.
type Log struct {
	path     string
	maxBytes int64
	maxFiles int
	now      func() time.Time

	mu   sync.Mutex
	f    *os.File
	size int64
	err  error
}

// CreateLog creates (truncates) the log file at path. maxBytes <= 0 means no
// rotation; maxFiles < 1 means 1.
func CreateLog(path string, maxBytes int64, maxFiles int, now func() time.Time) (*Log, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	if maxFiles < 1 {
		maxFiles = 1
	}
	if now == nil {
		now = time.Now
	}
	return &Log{path: path, maxBytes: maxBytes, maxFiles: maxFiles, now: now, f: f}, nil
}

// Path is the current log file.
func (l *Log) Path() string { return l.path }

// Close closes the file; later writes are dropped.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Err is the first write or rotation error, after which output is dropped.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// copyFrom writes r's lines to the log as stream until r ends.
func (l *Log) copyFrom(r io.Reader, stream string) {
	br := bufio.NewReaderSize(r, LogLineMax)
	var entry []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			tag := "P"
			if err == nil || !errors.Is(err, bufio.ErrBufferFull) {
				tag = "F"
			}
			entry = append(entry[:0], l.now().UTC().Format(time.RFC3339Nano)...)
			entry = append(entry, ' ')
			entry = append(entry, stream...)
			entry = append(entry, ' ')
			entry = append(entry, tag...)
			entry = append(entry, ' ')
			entry = append(entry, bytes.TrimSuffix(chunk, []byte("\n"))...)
			entry = append(entry, '\n')
			l.write(entry)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

func (l *Log) write(entry []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil || l.err != nil {
		return
	}
	if l.maxBytes > 0 && l.size > 0 && l.size+int64(len(entry)) > l.maxBytes {
		if err := l.rotate(); err != nil {
			l.err = err
			return
		}
	}
	n, err := l.f.Write(entry)
	l.size += int64(n)
	if err != nil {
		l.err = fmt.Errorf("write log %s: %w", l.path, err)
	}
}

// rotate shifts path.N-1 to path.N ... path to path.1 and starts path anew.
func (l *Log) rotate() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("close log %s: %w", l.path, err)
	}
	l.f = nil
	for i := l.maxFiles - 1; i >= 1; i-- {
		from := l.path
		if i > 1 {
			from += "." + strconv.Itoa(i-1)
		}
		if err := os.Rename(from, l.path+"."+strconv.Itoa(i)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate log %s: %w", l.path, err)
		}
	}
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("rotate log %s: %w", l.path, err)
	}
	l.f, l.size = f, 0
	return nil
}

// pipeTo gives the command pipes for stdout and stderr.
func (p *Process) pipeTo(*Log) error {
	for _, set := range []func(*os.File){
		func(w *os.File) { p.cmd.Stdout = w },
		func(w *os.File) { p.cmd.Stderr = w },
	} {
		r, w, err := os.Pipe()
		if err != nil {
			p.closePipes()
			p.closeWriteEnds()
			return fmt.Errorf("log pipe: %w", err)
		}
		p.pipes = append(p.pipes, r)
		set(w)
	}
	return nil
}

// closeWriteEnds closes the parent's copies of the pipes' write ends once
// the child has its own.
func (p *Process) closeWriteEnds() {
	for _, w := range []io.Writer{p.cmd.Stdout, p.cmd.Stderr} {
		if f, ok := w.(*os.File); ok && len(p.pipes) > 0 {
			f.Close()
		}
	}
}

func (p *Process) closePipes() {
	for _, r := range p.pipes {
		r.Close()
	}
}

// copyLogs copies both pipes into log, one goroutine per stream; copied is
// closed when both reached the end of their pipe.
func (p *Process) copyLogs(log *Log) {
	p.copied = make(chan struct{})
	var running atomic.Int32
	running.Store(2)
	for i, stream := range []string{StreamStdout, StreamStderr} {
		go func() {
			log.copyFrom(p.pipes[i], stream)
			if running.Add(-1) == 0 {
				close(p.copied)
			}
		}()
	}
}
