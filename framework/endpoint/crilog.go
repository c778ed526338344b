package endpoint

import (
	"bytes"
	"time"
)

// The CRI log format the executor writes, one record per line:
//
//	2016-10-06T00:17:09.669794202Z stdout P log content 1
//	2016-10-06T00:17:09.669794203Z stderr F log content 2
//
// P marks a partial line, continued by the next record up to one tagged F.
const (
	// timeFormatIn parses a record's timestamp (variable width).
	timeFormatIn = "2006-01-02T15:04:05.999999999Z07:00"
	// timeFormatOut prefixes lines with timestamps=true, fixed width, as
	// the kubelet does.
	timeFormatOut = "2006-01-02T15:04:05.000000000Z07:00"

	streamStdout = "stdout"
	streamStderr = "stderr"
)

// logRecord is one parsed line of a CRI log file.
type logRecord struct {
	timestamp time.Time
	// stream is streamStdout or streamStderr.
	stream string
	// text is the record's content: with its newline for a full (F) line,
	// without one for a partial (P) line.
	text []byte
	// malformed is set for a line that is not in the CRI format; text is
	// then the whole line and timestamp is zero.
	malformed bool
}

// parseRecord parses one line of a CRI log file (with its trailing newline,
// if it has one). A line that is not in the CRI format is passed through
// whole, as stdout, marked malformed (the kubelet drops such lines; showing
// them loses nothing a user could want).
func parseRecord(line []byte) logRecord {
	rest := line
	field := func() ([]byte, bool) {
		i := bytes.IndexByte(rest, ' ')
		if i < 0 {
			return nil, false
		}
		f := rest[:i]
		rest = rest[i+1:]
		return f, true
	}
	malformed := logRecord{stream: streamStdout, text: line, malformed: true}
	ts, ok := field()
	if !ok {
		return malformed
	}
	t, err := time.Parse(timeFormatIn, string(ts))
	if err != nil {
		return malformed
	}
	stream, ok := field()
	if !ok || (string(stream) != streamStdout && string(stream) != streamStderr) {
		return malformed
	}
	tags, ok := field()
	if !ok {
		return malformed
	}
	// Tags are colon-separated; only the first (P or F) is defined.
	tag, _, _ := bytes.Cut(tags, []byte{':'})
	text := rest
	if string(tag) == "P" && len(text) > 0 && text[len(text)-1] == '\n' {
		text = text[:len(text)-1]
	}
	return logRecord{timestamp: t, stream: string(stream), text: text}
}
