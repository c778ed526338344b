package master

import (
	"encoding/json"
	"io"
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// This file holds the hand-written JSON encoder behind the state endpoints
// (/master/state and friends). They render hundreds of thousands of tasks,
// so values are appended to a byte slice with strconv, without reflection;
// encoding/json is used only for rare nested protobuf fields (discovery,
// container), as Mesos renders them with its generic protobuf-to-JSON path.

// jsonFlushBytes is how much output the writer gathers before writing it.
const jsonFlushBytes = 128 << 10

// jsonWriter appends JSON to a buffer and writes the buffer out in large
// chunks; the first write error is kept and later writes are skipped.
type jsonWriter struct {
	b   []byte
	w   io.Writer // nil: keep everything in b
	err error
}

// maybeFlush writes the buffer once it is large enough.
func (j *jsonWriter) maybeFlush() {
	if j.w != nil && len(j.b) >= jsonFlushBytes {
		j.flush()
	}
}

// flush writes out whatever is buffered.
func (j *jsonWriter) flush() {
	if j.err == nil && len(j.b) > 0 {
		_, j.err = j.w.Write(j.b)
	}
	j.b = j.b[:0]
}

// appendKey appends `"k":` for a key known to need no escaping.
func appendKey(b []byte, k string) []byte {
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// with encoding/json.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				const hex = "0123456789abcdef"
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, "89"[r&1])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendFloat appends a double the way Mesos' JSON writer prints one: 15
// significant digits, trailing zeros trimmed, always with a decimal point
// ("4.0", "0.25", "1.0e+20"). Non-finite values, which JSON cannot hold,
// become 0.0.
func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "0.0"...)
	}
	start := len(b)
	b = strconv.AppendFloat(b, v, 'g', 15, 64)
	exp := -1
	for i := start; i < len(b); i++ {
		switch b[i] {
		case '.':
			return b
		case 'e':
			exp = i
		}
	}
	if exp < 0 {
		return append(b, '.', '0')
	}
	// Insert ".0" before the exponent.
	b = append(b, 0, 0)
	copy(b[exp+2:], b[exp:len(b)-2])
	b[exp], b[exp+1] = '.', '0'
	return b
}

// appendInt appends an integer.
func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// appendBool appends true or false.
func appendBool(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }

// appendSecs appends a time as fractional seconds since the epoch, 0 for the
// zero time (Mesos prints unset times as 0).
func appendSecs(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "0.0"...)
	}
	return appendFloat(b, float64(t.UnixNano())/1e9)
}

// appendProtoJSON appends a nested message with encoding/json, for the few
// fields Mesos renders with its generic protobuf converter; null if it
// cannot be encoded.
func appendProtoJSON(b []byte, v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, out...)
}

// appendStringArray appends a JSON array of strings.
func appendStringArray(b []byte, xs []string) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, x)
	}
	return append(b, ']')
}

// appendLabels appends Labels as Mesos does: an array of {key, value}.
func appendLabels(b []byte, l *mesos.Labels) []byte {
	b = append(b, '[')
	for i, lb := range l.GetLabels() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendKey(b, "key")
		b = appendString(b, lb.Key)
		if lb.Value != nil {
			b = append(b, ',')
			b = appendKey(b, "value")
			b = appendString(b, *lb.Value)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendRanges appends ranges as Mesos stringifies them: "[a-b, c-d]".
func appendRanges(b []byte, rs []mesos.Value_Range) []byte {
	b = append(b, '"', '[')
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',', ' ')
		}
		b = strconv.AppendUint(b, r.Begin, 10)
		b = append(b, '-')
		b = strconv.AppendUint(b, r.End, 10)
	}
	return append(b, ']', '"')
}

// appendSetString appends a set as Mesos stringifies it: "{a, b}".
func appendSetString(b []byte, items []string) []byte {
	s := make([]byte, 0, 64)
	s = append(s, '{')
	for i, it := range items {
		if i > 0 {
			s = append(s, ',', ' ')
		}
		s = append(s, it...)
	}
	s = append(s, '}')
	return appendString(b, string(s))
}

// appendAttributes appends agent attributes as Mesos models them: an object
// of name to number (scalar) or string (text, ranges, set).
func appendAttributes(b []byte, attrs []mesos.Attribute) []byte {
	b = append(b, '{')
	for i := range attrs {
		a := &attrs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, a.Name)
		b = append(b, ':')
		switch a.Type {
		case mesos.SCALAR:
			b = appendFloat(b, a.GetScalar().GetValue())
		case mesos.RANGES:
			b = appendRanges(b, coalesceRanges(append([]mesos.Value_Range(nil), a.GetRanges().GetRange()...)))
		case mesos.SET:
			b = appendSetString(b, a.GetSet().GetItem())
		default:
			b = appendString(b, a.GetText().GetValue())
		}
	}
	return append(b, '}')
}

// namedScalar, namedRanges and namedSet are the non-standard entries of a
// resourceSummary.
type namedScalar struct {
	name string
	v    float64
}

type namedRanges struct {
	name   string
	ranges []mesos.Value_Range
}

type namedSet struct {
	name  string
	items []string
}

// resourceSummary adds up resources the way Mesos' JSON model of Resources
// does: scalars summed by name (cpus, gpus, mem and disk always present),
// ranges merged, sets united; revocable resources under "<name>_revocable".
// The zero value is empty; reset keeps the allocated space for reuse.
type resourceSummary struct {
	cpus, gpus, mem, disk float64
	scalars               []namedScalar
	ranges                []namedRanges
	sets                  []namedSet
}

// reset empties the summary, keeping its space.
func (s *resourceSummary) reset() {
	s.cpus, s.gpus, s.mem, s.disk = 0, 0, 0, 0
	s.scalars = s.scalars[:0]
	for i := range s.ranges {
		s.ranges[i].ranges = s.ranges[i].ranges[:0]
	}
	s.ranges = s.ranges[:0]
	s.sets = s.sets[:0]
}

// add adds resources to the summary.
func (s *resourceSummary) add(rs []mesos.Resource) {
	for i := range rs {
		r := &rs[i]
		name := r.Name
		revocable := r.Revocable != nil
		if revocable {
			name += "_revocable"
		}
		switch r.GetType() {
		case mesos.SCALAR:
			v := r.GetScalar().GetValue()
			switch {
			case revocable:
				s.addScalar(name, v)
			case name == "cpus":
				s.cpus += v
			case name == "mem":
				s.mem += v
			case name == "disk":
				s.disk += v
			case name == "gpus":
				s.gpus += v
			default:
				s.addScalar(name, v)
			}
		case mesos.RANGES:
			s.addRanges(name, r.GetRanges().GetRange())
		case mesos.SET:
			s.addSet(name, r.GetSet().GetItem())
		}
	}
}

// addScalar adds to a scalar outside the standard four.
func (s *resourceSummary) addScalar(name string, v float64) {
	for i := range s.scalars {
		if s.scalars[i].name == name {
			s.scalars[i].v += v
			return
		}
	}
	s.scalars = append(s.scalars, namedScalar{name, v})
}

// addRanges adds ranges under a name; they are merged when rendered.
func (s *resourceSummary) addRanges(name string, rs []mesos.Value_Range) {
	for i := range s.ranges {
		if s.ranges[i].name == name {
			s.ranges[i].ranges = append(s.ranges[i].ranges, rs...)
			return
		}
	}
	if n := len(s.ranges); n < cap(s.ranges) {
		// Reuse the range slice left from before a reset.
		s.ranges = s.ranges[:n+1]
		s.ranges[n].name = name
		s.ranges[n].ranges = append(s.ranges[n].ranges[:0], rs...)
		return
	}
	s.ranges = append(s.ranges, namedRanges{name: name, ranges: append([]mesos.Value_Range(nil), rs...)})
}

// addSet unites set items under a name.
func (s *resourceSummary) addSet(name string, items []string) {
	for i := range s.sets {
		if s.sets[i].name != name {
			continue
		}
	next:
		for _, it := range items {
			for _, have := range s.sets[i].items {
				if have == it {
					continue next
				}
			}
			s.sets[i].items = append(s.sets[i].items, it)
		}
		return
	}
	s.sets = append(s.sets, namedSet{name, append([]string(nil), items...)})
}

// merge adds another summary to s.
func (s *resourceSummary) merge(o *resourceSummary) {
	s.cpus += o.cpus
	s.gpus += o.gpus
	s.mem += o.mem
	s.disk += o.disk
	for _, x := range o.scalars {
		s.addScalar(x.name, x.v)
	}
	for _, x := range o.ranges {
		s.addRanges(x.name, x.ranges)
	}
	for _, x := range o.sets {
		s.addSet(x.name, x.items)
	}
}

// roundScalar rounds to Mesos' fixed-point precision of three decimals, so
// that 0.1+0.2 prints as 0.3.
func roundScalar(v float64) float64 { return math.Round(v*1000) / 1000 }

// appendResourceSummary appends the summary as a JSON object.
func appendResourceSummary(b []byte, s *resourceSummary) []byte {
	b = append(b, `{"cpus":`...)
	b = appendFloat(b, roundScalar(s.cpus))
	b = append(b, `,"disk":`...)
	b = appendFloat(b, roundScalar(s.disk))
	b = append(b, `,"gpus":`...)
	b = appendFloat(b, roundScalar(s.gpus))
	b = append(b, `,"mem":`...)
	b = appendFloat(b, roundScalar(s.mem))
	if len(s.scalars) > 1 {
		sort.Slice(s.scalars, func(i, j int) bool { return s.scalars[i].name < s.scalars[j].name })
	}
	for _, x := range s.scalars {
		b = append(b, ',')
		b = appendString(b, x.name)
		b = append(b, ':')
		b = appendFloat(b, roundScalar(x.v))
	}
	if len(s.ranges) > 1 {
		sort.Slice(s.ranges, func(i, j int) bool { return s.ranges[i].name < s.ranges[j].name })
	}
	for i := range s.ranges {
		x := &s.ranges[i]
		x.ranges = coalesceRanges(x.ranges)
		b = append(b, ',')
		b = appendString(b, x.name)
		b = append(b, ':')
		b = appendRanges(b, x.ranges)
	}
	if len(s.sets) > 1 {
		sort.Slice(s.sets, func(i, j int) bool { return s.sets[i].name < s.sets[j].name })
	}
	for _, x := range s.sets {
		b = append(b, ',')
		b = appendString(b, x.name)
		b = append(b, ':')
		b = appendSetString(b, x.items)
	}
	return append(b, '}')
}

// appendResources appends resources summarised as Mesos' JSON model does,
// using scratch as working space.
func appendResources(b []byte, rs []mesos.Resource, scratch *resourceSummary) []byte {
	scratch.reset()
	scratch.add(rs)
	return appendResourceSummary(b, scratch)
}

// coalesceRanges sorts ranges in place and merges overlapping and adjacent
// ones, as Mesos' Value::Ranges arithmetic does.
func coalesceRanges(rs []mesos.Value_Range) []mesos.Value_Range {
	if len(rs) < 2 {
		return rs
	}
	sorted := true
	for i := 1; i < len(rs); i++ {
		if rs[i].Begin < rs[i-1].Begin {
			sorted = false
			break
		}
	}
	if !sorted {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Begin < rs[j].Begin })
	}
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if last.End == math.MaxUint64 || r.Begin <= last.End+1 {
			if r.End > last.End {
				last.End = r.End
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// resourceRole is the role a task's or executor's resources are allocated
// to (tasks never mix roles, MESOS-6636), "" when they carry no allocation.
func resourceRole(rs []mesos.Resource) string {
	if len(rs) == 0 {
		return ""
	}
	return rs[0].GetAllocationInfo().GetRole()
}
