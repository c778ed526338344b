package behavior

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// The file format. Durations are Go duration strings; a rule's behavior is
// a patch over the default, hence the pointers (set or not).
type (
	fileConfig struct {
		Default *fileBehavior `json:"default"`
		Rules   []fileRule    `json:"rules"`
	}
	fileRule struct {
		Name     string        `json:"name"`
		Match    Match         `json:"match"`
		Behavior *fileBehavior `json:"behavior"`
	}
	fileBehavior struct {
		StartingDelay     *string  `json:"startingDelay"`
		RunningDelay      *string  `json:"runningDelay"`
		Duration          *string  `json:"duration"`
		DurationLabel     *string  `json:"durationLabel"`
		FailureRate       *float64 `json:"failureRate"`
		LaunchFailureRate *float64 `json:"launchFailureRate"`
		KillDelay         *string  `json:"killDelay"`
		ExitCode          *int     `json:"exitCode"`
	}
)

// Load reads and parses the configuration file at path (see Parse).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a configuration written in YAML or JSON:
//
//	default: <behavior>        # optional
//	rules:                     # optional, first match wins
//	- name: <string>           # optional, unique
//	  match: {taskName, frameworkName, role: <glob>, labels, attributes: {<key>: <glob>}}
//	  behavior: <behavior>     # overrides only the keys it sets; the rest come from default
//
// where <behavior> has the keys startingDelay, runningDelay, duration,
// killDelay (Go durations such as "250ms"), durationLabel (string),
// failureRate, launchFailureRate (numbers in [0, 1]) and exitCode (integer
// in [1, 255]). Decoding is strict: unknown and duplicate keys, values of the
// wrong type, bad durations, negative durations and rates outside [0, 1] are
// errors naming the field. An empty document is the default configuration.
// Every problem found is reported in one error wrapping ErrInvalid.
func Parse(data []byte) (*Config, error) {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var tree any
	if err := json.Unmarshal(j, &tree); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var p problems
	var f fileConfig
	if tree != nil {
		decode(&p, "", tree, reflect.ValueOf(&f).Elem())
	}
	if len(p) > 0 {
		return nil, p.err()
	}

	c := &Config{}
	f.Default.apply(&p, "default", &c.Default)
	if len(f.Rules) > 0 {
		c.Rules = make([]Rule, len(f.Rules))
	}
	for i, fr := range f.Rules {
		r := &c.Rules[i]
		r.Name, r.Match, r.Behavior = fr.Name, fr.Match, c.Default
		fr.Behavior.apply(&p, fmt.Sprintf("rules[%d].behavior", i), &r.Behavior)
	}
	c.validateRules(&p)
	if err := p.err(); err != nil {
		return nil, err
	}
	// Every value was checked where it was written (the rules' inherited
	// values are the default's), so this only guards the invariant.
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// apply overlays the keys fb sets onto b, reporting bad values under path.
func (fb *fileBehavior) apply(p *problems, path string, b *Behavior) {
	if fb == nil {
		return
	}
	applyDuration(p, path+".startingDelay", fb.StartingDelay, &b.StartingDelay)
	applyDuration(p, path+".runningDelay", fb.RunningDelay, &b.RunningDelay)
	applyDuration(p, path+".duration", fb.Duration, &b.Duration)
	applyDuration(p, path+".killDelay", fb.KillDelay, &b.KillDelay)
	if fb.DurationLabel != nil {
		if *fb.DurationLabel == "" {
			p.addf("%s.durationLabel: must not be empty (omit it for %q)", path, DefaultDurationLabel)
		}
		b.DurationLabel = *fb.DurationLabel
	}
	if fb.FailureRate != nil {
		checkRate(p, path+".failureRate", *fb.FailureRate)
		b.FailureRate = *fb.FailureRate
	}
	if fb.LaunchFailureRate != nil {
		checkRate(p, path+".launchFailureRate", *fb.LaunchFailureRate)
		b.LaunchFailureRate = *fb.LaunchFailureRate
	}
	if fb.ExitCode != nil {
		checkExitCode(p, path+".exitCode", *fb.ExitCode)
		b.ExitCode = *fb.ExitCode
	}
}

func applyDuration(p *problems, field string, s *string, d *time.Duration) {
	if s == nil {
		return
	}
	v, err := time.ParseDuration(*s)
	if err != nil {
		p.addf("%s: invalid duration %q (want a Go duration such as \"250ms\" or \"1m30s\")", field, *s)
		return
	}
	checkDuration(p, field, v)
	*d = v
}

// decode stores the JSON value in (as produced by encoding/json into an
// interface) in out, reporting unknown keys and values of the wrong type
// under their path. It knows the kinds the file types use: pointers,
// structs (keys from json tags), slices, maps with string keys, strings,
// float64 and int. A null struct field counts as absent.
func decode(p *problems, path string, in any, out reflect.Value) {
	switch out.Kind() {
	case reflect.Pointer:
		v := reflect.New(out.Type().Elem())
		decode(p, path, in, v.Elem())
		out.Set(v)
	case reflect.Struct:
		obj, ok := in.(map[string]any)
		if !ok {
			p.addf("%s: want an object, got %s", display(path), describe(in))
			return
		}
		fields := jsonFields(out.Type())
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			i, ok := fields[k]
			if !ok {
				p.addf("%s: unknown field (known: %s)", join(path, k), strings.Join(slices.Sorted(maps.Keys(fields)), ", "))
				continue
			}
			if obj[k] != nil {
				decode(p, join(path, k), obj[k], out.Field(i))
			}
		}
	case reflect.Slice:
		arr, ok := in.([]any)
		if !ok {
			p.addf("%s: want a list, got %s", display(path), describe(in))
			return
		}
		s := reflect.MakeSlice(out.Type(), len(arr), len(arr))
		for i, v := range arr {
			decode(p, fmt.Sprintf("%s[%d]", path, i), v, s.Index(i))
		}
		out.Set(s)
	case reflect.Map:
		obj, ok := in.(map[string]any)
		if !ok {
			p.addf("%s: want an object, got %s", display(path), describe(in))
			return
		}
		m := reflect.MakeMapWithSize(out.Type(), len(obj))
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			v := reflect.New(out.Type().Elem()).Elem()
			decode(p, fmt.Sprintf("%s[%q]", path, k), obj[k], v)
			m.SetMapIndex(reflect.ValueOf(k), v)
		}
		out.Set(m)
	case reflect.String:
		s, ok := in.(string)
		if !ok {
			hint := ""
			switch in.(type) {
			case bool, float64:
				hint = " (quote it)"
			}
			p.addf("%s: want a string, got %s%s", display(path), describe(in), hint)
			return
		}
		out.SetString(s)
	case reflect.Float64:
		f, ok := in.(float64)
		if !ok {
			p.addf("%s: want a number, got %s", display(path), describe(in))
			return
		}
		out.SetFloat(f)
	case reflect.Int:
		f, ok := in.(float64)
		if !ok || f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
			p.addf("%s: want an integer, got %s", display(path), describe(in))
			return
		}
		out.SetInt(int64(f))
	default:
		panic(fmt.Sprintf("behavior: decode: unsupported kind %s at %s", out.Kind(), display(path)))
	}
}

// jsonFields maps the JSON keys of a struct type to field indexes.
func jsonFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = i
		}
	}
	return fields
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func display(path string) string {
	if path == "" {
		return "document"
	}
	return path
}

// describe names the JSON type of v for error messages.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	case float64:
		return fmt.Sprintf("the number %v", v)
	case string:
		return fmt.Sprintf("the string %q", v)
	case []any:
		return "a list"
	default:
		return "an object"
	}
}
