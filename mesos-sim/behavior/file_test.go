package behavior

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		// want are substrings the error must contain, in order.
		want []string
	}{
		{"unknown top-level key", "defaults: {}", []string{`defaults: unknown field (known: default, rules)`}},
		{"unknown behavior key", "default: {startingdelay: 1s}", []string{`default.startingdelay: unknown field (known: duration, durationLabel, exitCode, failureRate, killDelay, launchFailureRate, runningDelay, startingDelay)`}},
		{"unknown rule key", "rules: [{when: {}}]", []string{`rules[0].when: unknown field (known: behavior, match, name)`}},
		{"unknown match key", "rules: [{match: {task: x}}]", []string{`rules[0].match.task: unknown field`}},
		{"unknown key in second rule", "rules: [{}, {behavior: {failurerate: 1}}]", []string{`rules[1].behavior.failurerate: unknown field`}},
		{"duplicate key", "default: {killDelay: 1s, killDelay: 2s}", []string{`invalid simulation config`, `killDelay`}},
		{"not YAML", "default: [", []string{`invalid simulation config`}},
		{"document not an object", "- a", []string{`document: want an object, got a list`}},
		{"rules not a list", "rules: {}", []string{`rules: want a list, got an object`}},
		{"behavior not an object", "default: 5s", []string{`default: want an object, got the string "5s"`}},
		{"duration not a string", "default: {startingDelay: 5}", []string{`default.startingDelay: want a string, got the number 5 (quote it)`}},
		{"bad duration", "default: {runningDelay: 5 s}", []string{`default.runningDelay: invalid duration "5 s" (want a Go duration such as "250ms" or "1m30s")`}},
		{"duration without unit", `rules: [{behavior: {duration: "30"}}]`, []string{`rules[0].behavior.duration: invalid duration "30"`}},
		{"negative delay", "default: {killDelay: -1s}", []string{`default.killDelay: must not be negative, got -1s`}},
		{"negative in rule", "rules: [{name: a}, {behavior: {startingDelay: -250ms}}]", []string{`rules[1].behavior.startingDelay: must not be negative, got -250ms`}},
		{"rate above one", "default: {failureRate: 1.5}", []string{`default.failureRate: must be a probability in [0, 1], got 1.5`}},
		{"negative rate", "rules: [{behavior: {launchFailureRate: -0.1}}]", []string{`rules[0].behavior.launchFailureRate: must be a probability in [0, 1], got -0.1`}},
		{"rate as string", `default: {failureRate: "30%"}`, []string{`default.failureRate: want a number, got the string "30%"`}},
		{"exit code zero", "default: {exitCode: 0}", []string{`default.exitCode: must be in [1, 255], got 0`}},
		{"exit code too big", "default: {exitCode: 256}", []string{`default.exitCode: must be in [1, 255], got 256`}},
		{"exit code not integral", "default: {exitCode: 1.5}", []string{`default.exitCode: want an integer, got the number 1.5`}},
		{"empty duration label", `default: {durationLabel: ""}`, []string{`default.durationLabel: must not be empty (omit it for "mesos-sim.io/duration")`}},
		{"label value not a string", "rules: [{match: {labels: {enabled: true}}}]", []string{`rules[0].match.labels["enabled"]: want a string, got the boolean true (quote it)`}},
		{"label value null", "rules: [{match: {labels: {app: null}}}]", []string{`rules[0].match.labels["app"]: want a string, got null`}},
		{"empty label key", `rules: [{match: {labels: {"": x}}}]`, []string{`rules[0].match.labels: a label key must not be empty`}},
		{"empty attribute name", `rules: [{match: {attributes: {"": x}}}]`, []string{`rules[0].match.attributes: an attribute name must not be empty`}},
		{"duplicate rule name", "rules: [{name: a}, {name: b}, {name: a}]", []string{`rules[2].name: "a" is already the name of rules[0]`}},
		{"type problems come before value checks", "default: {failureRate: 2, killDelay: -1s}\nrules: [{bogus: 1}]", []string{
			`rules[0].bogus: unknown field`,
		}},
		{"every value problem reported", "default: {failureRate: 2, killDelay: -1s}\nrules: [{behavior: {exitCode: 300}}]", []string{
			`default.killDelay: must not be negative`,
			`default.failureRate: must be a probability`,
			`rules[0].behavior.exitCode: must be in [1, 255]`,
		}},
		{"JSON input", `{"default": {"failureRate": 2}}`, []string{`default.failureRate: must be a probability in [0, 1], got 2`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tc.in, c)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q does not wrap ErrInvalid", err)
			}
			rest := err.Error()
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error %q lacks %q (in that order)", err, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestParse(t *testing.T) {
	const yamlIn = `
default:
  startingDelay: 250ms
  killDelay: 3s
  failureRate: 0.25
  exitCode: 3
rules:
- name: fast
  match:
    taskName: "fast-*"
    labels: {tier: gold}
  behavior:
    startingDelay: 0s
    failureRate: 0
- match: {role: batch}
  behavior: {duration: 1m, durationLabel: example.com/d}
`
	const jsonIn = `{"default": {"startingDelay": "250ms", "killDelay": "3s", "failureRate": 0.25, "exitCode": 3},
	 "rules": [
	  {"name": "fast", "match": {"taskName": "fast-*", "labels": {"tier": "gold"}}, "behavior": {"startingDelay": "0s", "failureRate": 0}},
	  {"match": {"role": "batch"}, "behavior": {"duration": "1m", "durationLabel": "example.com/d"}}]}`
	def := Behavior{StartingDelay: 250 * time.Millisecond, KillDelay: 3 * time.Second, FailureRate: 0.25, ExitCode: 3}
	fast := def
	fast.StartingDelay, fast.FailureRate = 0, 0
	batch := def
	batch.Duration, batch.DurationLabel = time.Minute, "example.com/d"
	want := &Config{
		Default: def,
		Rules: []Rule{
			{Name: "fast", Match: Match{TaskName: "fast-*", Labels: map[string]string{"tier": "gold"}}, Behavior: fast},
			{Match: Match{Role: "batch"}, Behavior: batch},
		},
	}
	for name, in := range map[string]string{"yaml": yamlIn, "json": jsonIn} {
		got, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Parse =\n%+v\nwant (rules inherit what they do not set from default)\n%+v", name, got, want)
		}
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", "# nothing\n", "null", "{}", "default: {}\nrules: []"} {
		c, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if c.Default != (Behavior{}) || len(c.Rules) != 0 {
			t.Errorf("Parse(%q) = %+v, want the default configuration", in, c)
		}
	}
}

func TestLoad(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		t.Fatalf("the example config does not load: %v", err)
	}
	if len(c.Rules) == 0 {
		t.Error("the example config has no rules")
	}

	_, err = Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("Load(missing) = %v, want a not-exist error that is not ErrInvalid", err)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("default: {failureRate: 7}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), bad+": ") || !strings.Contains(err.Error(), "default.failureRate") {
		t.Errorf("Load(bad) = %v, want an ErrInvalid naming the file and the field", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    *Config
		want string // "" for valid
	}{
		{"nil", nil, ""},
		{"zero", &Config{}, ""},
		{"full", &Config{Default: Behavior{StartingDelay: time.Second, FailureRate: 1, LaunchFailureRate: 0, ExitCode: 255}}, ""},
		{"exit code zero means default", &Config{Default: Behavior{ExitCode: 0}}, ""},
		{"negative duration", &Config{Default: Behavior{Duration: -time.Second}}, "default.duration: must not be negative, got -1s"},
		{"NaN rate", &Config{Default: Behavior{FailureRate: math.NaN()}}, "default.failureRate: must be a probability in [0, 1], got NaN"},
		{"negative exit code", &Config{Rules: []Rule{{Behavior: Behavior{ExitCode: -1}}}}, "rules[0].behavior.exitCode: must be in [1, 255], got -1"},
		{"rule delay", &Config{Rules: []Rule{{}, {Behavior: Behavior{RunningDelay: -1}}}}, "rules[1].behavior.runningDelay: must not be negative, got -1ns"},
		{"duplicate names", &Config{Rules: []Rule{{Name: "x"}, {Name: "x"}}}, `rules[1].name: "x" is already the name of rules[0]`},
		{"unnamed rules", &Config{Rules: []Rule{{}, {}}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid)):
				t.Fatalf("Validate = %v, want an ErrInvalid containing %q", err, tc.want)
			}
		})
	}
}
