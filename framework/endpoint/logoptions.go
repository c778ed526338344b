package endpoint

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// logOptions are a /containerLogs request's query, as the kubelet reads
// v1.PodLogOptions from it.
type logOptions struct {
	follow     bool
	previous   bool
	timestamps bool
	// tailLines < 0: every line.
	tailLines int64
	// limitBytes <= 0: no limit.
	limitBytes int64
	// sinceSeconds and sinceTime: at most one is set (0 / zero: unset).
	sinceSeconds int64
	sinceTime    time.Time
	// stdout and stderr select the streams written (the stream parameter:
	// All, the default, Stdout or Stderr).
	stdout, stderr bool
}

// parseLogOptions reads the query parameters of /containerLogs and
// validates them as the kubelet does (ValidatePodLogOptions).
func parseLogOptions(q url.Values) (logOptions, error) {
	o := logOptions{tailLines: -1, stdout: true, stderr: true}
	o.follow = queryBool(q, "follow")
	o.previous = queryBool(q, "previous")
	o.timestamps = queryBool(q, "timestamps")
	// "tail" is the kubelet's older name for tailLines; "all" is no tail.
	if tail := q.Get("tail"); tail != "" {
		q = cloneValues(q)
		q.Set("tailLines", tail)
		if tail == "all" {
			q.Del("tailLines")
		}
	}
	tail, hasTail, err := queryInt(q, "tailLines")
	if err != nil {
		return o, err
	}
	if hasTail {
		if tail < 0 {
			return o, errors.New("tailLines: must be greater than or equal to 0")
		}
		o.tailLines = tail
	}
	limit, hasLimit, err := queryInt(q, "limitBytes")
	if err != nil {
		return o, err
	}
	if hasLimit && limit < 1 {
		return o, errors.New("limitBytes: must be greater than 0")
	}
	o.limitBytes = limit
	since, hasSince, err := queryInt(q, "sinceSeconds")
	if err != nil {
		return o, err
	}
	if hasSince && since < 1 {
		return o, errors.New("sinceSeconds: must be greater than 0")
	}
	o.sinceSeconds = since
	if s := q.Get("sinceTime"); s != "" && s != "null" {
		if o.sinceTime, err = time.Parse(time.RFC3339, s); err != nil {
			return o, fmt.Errorf("sinceTime: %w", err)
		}
	}
	if hasSince && !o.sinceTime.IsZero() {
		return o, errors.New("at most one of `sinceTime` or `sinceSeconds` may be specified")
	}
	switch s := q.Get("stream"); s {
	case "", "All":
	case "Stdout":
		o.stderr = false
	case "Stderr":
		o.stdout = false
	default:
		return o, fmt.Errorf("stream: unsupported value %q: use All, Stdout or Stderr", s)
	}
	if (!o.stdout || !o.stderr) && o.tailLines >= 0 {
		return o, errors.New("`tailLines` and specific `stream` are mutually exclusive for now")
	}
	return o, nil
}

// since is the time before which records are left out (zero: none).
func (o logOptions) since(now time.Time) time.Time {
	if o.sinceSeconds > 0 {
		return now.Add(-time.Duration(o.sinceSeconds) * time.Second)
	}
	return o.sinceTime
}

// queryBool reads a boolean query parameter as Kubernetes does: absent,
// "0" and "false" are false, anything else (even empty) is true.
func queryBool(q url.Values, name string) bool {
	v, ok := q[name]
	if !ok || len(v) == 0 {
		return false
	}
	return v[0] != "0" && !strings.EqualFold(v[0], "false")
}

// queryInt reads an integer query parameter; set is false when it is
// absent or empty.
func queryInt(q url.Values, name string) (v int64, set bool, err error) {
	s := q.Get(name)
	if s == "" {
		return 0, false, nil
	}
	v, err = strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %q is not an integer", name, s)
	}
	return v, true, nil
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
