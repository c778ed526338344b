package endpoint

import (
	"errors"
	"io"
	"math"
	"time"
)

// errLimitReached ends a log once limitBytes have been written.
var errLimitReached = errors.New("limitBytes reached")

// logWriter writes parsed records as the kubelet does: the text only, or
// prefixed with the record's timestamp (timestamps=true) at the start of
// each line; records before since left out; streams not asked for left out
// and not counted; at most limitBytes in all, the last line cut.
type logWriter struct {
	w          io.Writer
	since      time.Time
	timestamps bool
	stdout     bool
	stderr     bool
	remain     int64
	// atLineStart is whether the last record written ended its line, so
	// the next one gets a timestamp prefix.
	atLineStart bool
}

func newLogWriter(w io.Writer, o logOptions, now time.Time) *logWriter {
	lw := &logWriter{
		w:           w,
		since:       o.since(now),
		timestamps:  o.timestamps,
		stdout:      o.stdout,
		stderr:      o.stderr,
		remain:      math.MaxInt64,
		atLineStart: true,
	}
	if o.limitBytes > 0 {
		lw.remain = o.limitBytes
	}
	return lw
}

// write writes one record; errLimitReached once limitBytes are written.
func (lw *logWriter) write(rec logRecord) error {
	prefix := lw.atLineStart
	if len(rec.text) > 0 {
		lw.atLineStart = rec.text[len(rec.text)-1] == '\n'
	} else {
		lw.atLineStart = true
	}
	// A malformed line has no time: it is shown whatever since says.
	if !rec.malformed && rec.timestamp.Before(lw.since) {
		return nil
	}
	if (rec.stream == streamStdout && !lw.stdout) || (rec.stream == streamStderr && !lw.stderr) {
		return nil
	}
	line := rec.text
	if lw.timestamps && prefix && !rec.malformed {
		line = append(append([]byte(rec.timestamp.Format(timeFormatOut)), ' '), line...)
	}
	if int64(len(line)) > lw.remain {
		line = line[:lw.remain]
	}
	n, err := lw.w.Write(line)
	lw.remain -= int64(n)
	if err != nil {
		return err
	}
	if lw.remain <= 0 {
		return errLimitReached
	}
	return nil
}
