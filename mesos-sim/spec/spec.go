// Package spec parses Mesos' text syntax for agent resources and attributes,
// as the --resources and --attributes flags of a Mesos agent take them:
// "cpus:4;mem:8192;disk(role):1024;ports:[31000-32000]" and
// "rack:r1;zone:a;weight:3".
package spec

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// ParseResources parses "name(role):value;..." where value is a scalar
// ("4", "0.5"), ranges ("[31000-32000, 40000-40010]") or a set ("{a,b}").
// Names may repeat only with different roles.
func ParseResources(s string) (mesos.Resources, error) {
	var out mesos.Resources
	seen := map[string]bool{}
	for _, item := range splitItems(s) {
		name, value, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("resource %q: expected name:value", item)
		}
		name, role, err := nameAndRole(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		key := name + "(" + role + ")"
		if seen[key] {
			return nil, fmt.Errorf("resource %s appears twice", key)
		}
		seen[key] = true
		r := mesos.Resource{Name: name}
		if role != "*" {
			reservedRole := role
			r.Reservations = []mesos.Resource_ReservationInfo{{Type: mesos.Resource_ReservationInfo_STATIC.Enum(), Role: &reservedRole}}
		}
		value = strings.TrimSpace(value)
		switch {
		case strings.HasPrefix(value, "["):
			ranges, err := parseRanges(value)
			if err != nil {
				return nil, fmt.Errorf("resource %s: %w", name, err)
			}
			r.Type = mesos.RANGES.Enum()
			r.Ranges = &mesos.Value_Ranges{Range: ranges}
		case strings.HasPrefix(value, "{"):
			items, err := parseSet(value)
			if err != nil {
				return nil, fmt.Errorf("resource %s: %w", name, err)
			}
			r.Type = mesos.SET.Enum()
			r.Set = &mesos.Value_Set{Item: items}
		default:
			v, err := strconv.ParseFloat(value, 64)
			if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("resource %s: %q is not a non-negative number", name, value)
			}
			r.Type = mesos.SCALAR.Enum()
			r.Scalar = &mesos.Value_Scalar{Value: v}
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, errors.New("no resources given")
	}
	return out, nil
}

// ParseAttributes parses "name:value;..." where a value is a number (a
// scalar attribute), ranges ("[1-3]") or text.
func ParseAttributes(s string) ([]mesos.Attribute, error) {
	var out []mesos.Attribute
	seen := map[string]bool{}
	for _, item := range splitItems(s) {
		name, value, ok := strings.Cut(item, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || value == "" {
			return nil, fmt.Errorf("attribute %q: expected name:value", item)
		}
		if seen[name] {
			return nil, fmt.Errorf("attribute %s appears twice", name)
		}
		seen[name] = true
		a := mesos.Attribute{Name: name}
		switch {
		case strings.HasPrefix(value, "["):
			ranges, err := parseRanges(value)
			if err != nil {
				return nil, fmt.Errorf("attribute %s: %w", name, err)
			}
			a.Type = mesos.RANGES
			a.Ranges = &mesos.Value_Ranges{Range: ranges}
		default:
			if v, err := strconv.ParseFloat(value, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
				a.Type = mesos.SCALAR
				a.Scalar = &mesos.Value_Scalar{Value: v}
			} else {
				a.Type = mesos.TEXT
				a.Text = &mesos.Value_Text{Value: value}
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// splitItems splits on ';' outside brackets and braces, dropping empty items.
func splitItems(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case ';':
			if depth == 0 {
				if item := strings.TrimSpace(s[start:i]); item != "" {
					out = append(out, item)
				}
				start = i + 1
			}
		}
	}
	if item := strings.TrimSpace(s[start:]); item != "" {
		out = append(out, item)
	}
	return out
}

func nameAndRole(s string) (string, string, error) {
	name, rest, hasRole := strings.Cut(s, "(")
	name = strings.TrimSpace(name)
	if name == "" {
		return "", "", fmt.Errorf("resource %q has no name", s)
	}
	if !hasRole {
		return name, "*", nil
	}
	role, ok := strings.CutSuffix(rest, ")")
	if !ok || role == "" {
		return "", "", fmt.Errorf("resource %q: bad role", s)
	}
	return name, role, nil
}

func parseRanges(s string) ([]mesos.Value_Range, error) {
	inner, okPrefix := strings.CutPrefix(s, "[")
	inner, okSuffix := strings.CutSuffix(inner, "]")
	if !okPrefix || !okSuffix {
		return nil, fmt.Errorf("ranges %q must look like [a-b, c-d]", s)
	}
	var out []mesos.Value_Range
	for _, part := range strings.Split(inner, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, ok := strings.Cut(part, "-")
		b, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
		e, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 64)
		if !ok || err1 != nil || err2 != nil || b > e {
			return nil, fmt.Errorf("range %q must be begin-end with begin <= end", part)
		}
		out = append(out, mesos.Value_Range{Begin: b, End: e})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ranges %q are empty", s)
	}
	return out, nil
}

func parseSet(s string) ([]string, error) {
	inner, okPrefix := strings.CutPrefix(s, "{")
	inner, okSuffix := strings.CutSuffix(inner, "}")
	if !okPrefix || !okSuffix {
		return nil, fmt.Errorf("set %q must look like {a,b}", s)
	}
	var out []string
	for _, item := range strings.Split(inner, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("set %q is empty", s)
	}
	return out, nil
}

// ParseWeights parses "role=weight,role2=weight" (Mesos' --weights flag).
func ParseWeights(s string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		role, w, ok := strings.Cut(item, "=")
		v, err := strconv.ParseFloat(strings.TrimSpace(w), 64)
		if !ok || err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("weight %q must be role=positive-number", item)
		}
		out[strings.TrimSpace(role)] = v
	}
	return out, nil
}
