package runner

import (
	"bytes"
	"io"
	"os"

	"github.com/kubemesos/kubemesos/executor/container"
)

// The kubelet's limits on a termination message taken from the logs.
const (
	fallbackMaxLines = 80
	fallbackMaxBytes = 2048
)

// logTail is the text of the last lines of a CRI log file (at most 80
// lines and 2048 bytes), for terminationMessagePolicy
// FallbackToLogsOnError.
func logTail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	// The last 80 entries of at most 2048 bytes of text fit in this window
	// unless entries are partial; then fewer lines are kept.
	const window = 64 << 10
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return ""
	}
	start := max(size-window, 0)
	buf := make([]byte, size-start)
	if _, err := f.ReadAt(buf, start); err != nil && err != io.EOF {
		return ""
	}
	if start > 0 { // drop the first, cut line
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	var text []byte
	lines := 0
	for _, raw := range bytes.SplitAfter(buf, []byte("\n")) {
		e, err := container.ParseLogLine(raw)
		if err != nil {
			continue
		}
		text = append(text, e.Text...)
		if !e.Partial {
			text = append(text, '\n')
			lines++
		}
	}
	// Keep the last 80 lines, then the last 2048 bytes.
	for lines > fallbackMaxLines {
		i := bytes.IndexByte(text, '\n')
		text = text[i+1:]
		lines--
	}
	if len(text) > fallbackMaxBytes {
		text = text[len(text)-fallbackMaxBytes:]
	}
	return string(text)
}
