package runner

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/executor/container"
	"github.com/kubemesos/kubemesos/executor/volume"
)

// The kubelet's limits on a termination message: taken from the logs, or
// read from the terminationMessagePath file.
const (
	fallbackMaxLines       = 80
	fallbackMaxBytes       = 2048
	terminationMessageSize = 4096
)

// createTerminationLog creates the instance's empty termination log, a file
// of the pod's directory that container.Start mounts at the container's
// terminationMessagePath (default /dev/termination-log), world-writable as
// a kubelet makes it so that any container user can write it. Without a
// mount namespace (an executor not running as root) there is none: the
// returned mount is empty and only FallbackToLogsOnError gives a message.
func (inst *instance) createTerminationLog() (volume.Mount, error) {
	c := inst.c
	if !container.CanNamespace() {
		return volume.Mount{}, nil
	}
	dir := filepath.Join(c.pod.cfg.Dir, "containers", c.spec.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return volume.Mount{}, fmt.Errorf("termination log: %w", err)
	}
	path := filepath.Join(dir, "termination-log")
	// A new file for each instance: a message never outlives its instance.
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return volume.Mount{}, fmt.Errorf("termination log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
	if err != nil {
		return volume.Mount{}, fmt.Errorf("termination log: %w", err)
	}
	if err := f.Close(); err != nil {
		return volume.Mount{}, fmt.Errorf("termination log: %w", err)
	}
	if err := os.Chmod(path, 0o666); err != nil { // regardless of the umask
		return volume.Mount{}, fmt.Errorf("termination log: %w", err)
	}
	inst.termLog = path
	target := c.spec.TerminationMessagePath
	if target == "" {
		target = corev1.TerminationMessagePathDefault
	}
	return volume.Mount{Source: path, Target: target}, nil
}

// terminationMessage is what the instance left as its termination message,
// as a kubelet reads it: the first 4096 bytes of its termination log, or,
// if that is empty, under FallbackToLogsOnError after a non-zero exit, the
// tail of its log.
func (inst *instance) terminationMessage(exitCode int32) string {
	if inst.termLog != "" {
		if f, err := os.Open(inst.termLog); err == nil {
			b, _ := io.ReadAll(io.LimitReader(f, terminationMessageSize))
			_ = f.Close()
			if len(b) > 0 {
				return string(b)
			}
		}
	}
	if exitCode != 0 && inst.c.spec.TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError && inst.log != nil {
		return logTail(inst.log.Path())
	}
	return ""
}

// joinMessage adds the container's own message to the runner's, as the
// kubelet enriches a terminated state's message.
func joinMessage(runner, own string) string {
	switch {
	case own == "":
		return runner
	case runner == "":
		return own
	}
	return runner + ": " + own
}

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
