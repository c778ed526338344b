package behavior

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults that zero values of a Behavior fall back to.
const (
	// DefaultDurationLabel is the task label read when Behavior.DurationLabel
	// is empty.
	DefaultDurationLabel = "mesos-sim.io/duration"
	// DefaultExitCode is the exit status reported when Behavior.ExitCode is 0.
	DefaultExitCode = 1
)

// ErrInvalid is wrapped by every error that Parse, Load and Validate return
// for a configuration that is not valid (as opposed to a file that cannot be
// read).
var ErrInvalid = errors.New("invalid simulation config")

// Config says how simulated tasks behave. The zero value (and a nil
// *Config) is the default: every task reaches TASK_STARTING and TASK_RUNNING
// at once and runs until it is killed.
type Config struct {
	// Default applies to tasks that no rule matches.
	Default Behavior
	// Rules are tried in order; the first whose Match fits a task wins.
	Rules []Rule
}

// Rule gives the tasks it matches a behaviour of their own.
type Rule struct {
	// Name is optional; it identifies the rule in errors and test output
	// and must be unique when set.
	Name     string
	Match    Match
	Behavior Behavior
}

// Match selects tasks. Every field that is set must fit (they are ANDed);
// the zero Match fits every task. Patterns are globs where '*' matches any
// run of characters (including '/' and none) and '?' matches exactly one;
// every other character matches itself.
type Match struct {
	// TaskName is a pattern for TaskInfo.name.
	TaskName string `json:"taskName,omitempty"`
	// FrameworkName is a pattern for FrameworkInfo.name.
	FrameworkName string `json:"frameworkName,omitempty"`
	// Role is a pattern for the framework's role.
	Role string `json:"role,omitempty"`
	// Labels maps task label keys to value patterns; each key must be
	// present on the task.
	Labels map[string]string `json:"labels,omitempty"`
	// Attributes maps agent attribute names to value patterns; each
	// attribute must be present on the agent.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Behavior is what a simulated agent does with a task. Durations are
// relative to the previous transition; zero values mean "at once", "never"
// or the named default, as each field says.
type Behavior struct {
	// StartingDelay is the time from launch (TASK_STAGING) to TASK_STARTING,
	// or to TASK_FAILED when the launch fails.
	StartingDelay time.Duration
	// RunningDelay is the time from TASK_STARTING to TASK_RUNNING.
	RunningDelay time.Duration
	// Duration is how long the task runs before it completes with
	// TASK_FINISHED or TASK_FAILED; 0 lets it run until it is killed.
	Duration time.Duration
	// DurationLabel names a task label whose value, a Go duration such as
	// "30s", overrides Duration for that task ("0s" runs until killed).
	// Empty means DefaultDurationLabel.
	DurationLabel string
	// FailureRate is the probability, in [0, 1], that a task that completes
	// ends TASK_FAILED (exit status ExitCode) instead of TASK_FINISHED.
	FailureRate float64
	// LaunchFailureRate is the probability, in [0, 1], that the container
	// launch fails: the task goes from TASK_STAGING to TASK_FAILED with
	// REASON_CONTAINER_LAUNCH_FAILED, sent by the agent, after StartingDelay.
	LaunchFailureRate float64
	// KillDelay is the time from a kill to TASK_KILLED, capped by the kill
	// policy's grace period when one is given.
	KillDelay time.Duration
	// ExitCode is the exit status, in [1, 255], of a task that fails on
	// completion; 0 means DefaultExitCode.
	ExitCode int
}

// Task is what rules match on: the task and where it runs.
type Task struct {
	// Name is TaskInfo.name.
	Name string
	// FrameworkName is FrameworkInfo.name.
	FrameworkName string
	// Role is the framework's role (the first of its roles).
	Role string
	// Labels are the task's labels.
	Labels map[string]string
	// Attributes are the agent's attributes, scalar values formatted as
	// text.
	Attributes map[string]string
}

// Default returns the behaviour used when no --sim-config is given: tasks
// reach TASK_STARTING and TASK_RUNNING at once and run until killed.
func Default() *Config { return &Config{} }

// Matches reports whether the task fits m.
func (m Match) Matches(t Task) bool {
	if m.TaskName != "" && !globMatch(m.TaskName, t.Name) {
		return false
	}
	if m.FrameworkName != "" && !globMatch(m.FrameworkName, t.FrameworkName) {
		return false
	}
	if m.Role != "" && !globMatch(m.Role, t.Role) {
		return false
	}
	return mapMatches(m.Labels, t.Labels) && mapMatches(m.Attributes, t.Attributes)
}

func mapMatches(patterns, values map[string]string) bool {
	for k, p := range patterns {
		v, ok := values[k]
		if !ok || !globMatch(p, v) {
			return false
		}
	}
	return true
}

// RuleFor returns the index of the first rule that matches t, or -1 when the
// default applies.
func (c *Config) RuleFor(t Task) int {
	if c == nil {
		return -1
	}
	for i := range c.Rules {
		if c.Rules[i].Match.Matches(t) {
			return i
		}
	}
	return -1
}

// BehaviorFor returns the behaviour of t: that of the first matching rule,
// else the default.
func (c *Config) BehaviorFor(t Task) Behavior {
	i := c.RuleFor(t)
	switch {
	case i >= 0:
		return c.Rules[i].Behavior
	case c != nil:
		return c.Default
	default:
		return Behavior{}
	}
}

// Validate reports every problem of c in one error wrapping ErrInvalid.
// Fields are named as in the configuration file (e.g.
// "rules[1].behavior.failureRate").
func (c *Config) Validate() error {
	if c == nil {
		return nil
	}
	var p problems
	c.Default.validate(&p, "default")
	c.validateRules(&p)
	for i := range c.Rules {
		c.Rules[i].Behavior.validate(&p, fmt.Sprintf("rules[%d].behavior", i))
	}
	return p.err()
}

// validateRules checks what rules hold besides their behaviour.
func (c *Config) validateRules(p *problems) {
	names := map[string]int{}
	for i, r := range c.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		if r.Name != "" {
			if j, dup := names[r.Name]; dup {
				p.addf("%s.name: %q is already the name of rules[%d]", path, r.Name, j)
			} else {
				names[r.Name] = i
			}
		}
		for k := range r.Match.Labels {
			if k == "" {
				p.addf("%s.match.labels: a label key must not be empty", path)
			}
		}
		for k := range r.Match.Attributes {
			if k == "" {
				p.addf("%s.match.attributes: an attribute name must not be empty", path)
			}
		}
	}
}

func (b Behavior) validate(p *problems, path string) {
	checkDuration(p, path+".startingDelay", b.StartingDelay)
	checkDuration(p, path+".runningDelay", b.RunningDelay)
	checkDuration(p, path+".duration", b.Duration)
	checkDuration(p, path+".killDelay", b.KillDelay)
	checkRate(p, path+".failureRate", b.FailureRate)
	checkRate(p, path+".launchFailureRate", b.LaunchFailureRate)
	if b.ExitCode != 0 {
		checkExitCode(p, path+".exitCode", b.ExitCode)
	}
}

func checkDuration(p *problems, field string, d time.Duration) {
	if d < 0 {
		p.addf("%s: must not be negative, got %s", field, d)
	}
}

func checkRate(p *problems, field string, r float64) {
	if !(r >= 0 && r <= 1) { // also rejects NaN
		p.addf("%s: must be a probability in [0, 1], got %v", field, r)
	}
}

func checkExitCode(p *problems, field string, code int) {
	if code < 1 || code > 255 {
		p.addf("%s: must be in [1, 255], got %d", field, code)
	}
}

// problems collects validation messages.
type problems []string

func (p *problems) addf(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(p, "; "))
}
