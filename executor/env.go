package executor

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Defaults for what the Mesos environment may leave out.
const (
	DefaultShutdownGracePeriod    = 5 * time.Second
	DefaultRecoveryTimeout        = 15 * time.Minute
	DefaultSubscriptionBackoffMax = 2 * time.Second
)

// ErrNotUnderMesos is returned (wrapped) by EnvFrom when the process was not
// started by a Mesos agent.
var ErrNotUnderMesos = errors.New("kubemesos executor is started by a Mesos agent")

// Env is what a Mesos agent tells its executor through MESOS_* environment
// variables.
type Env struct {
	FrameworkID string
	ExecutorID  string
	AgentID     string
	// Sandbox is the executor's sandbox (MESOS_SANDBOX, else
	// MESOS_DIRECTORY); pods live under Sandbox/pods.
	Sandbox string
	// AgentEndpoint is the agent's host:port.
	AgentEndpoint       string
	ShutdownGracePeriod time.Duration
	// Checkpoint: the framework checkpoints, so the executor survives an
	// agent restart by resubscribing within RecoveryTimeout, retrying at most
	// SubscriptionBackoffMax apart.
	Checkpoint             bool
	RecoveryTimeout        time.Duration
	SubscriptionBackoffMax time.Duration
}

// EnvFrom reads the Mesos environment through getenv (os.Getenv in
// production).
func EnvFrom(getenv func(string) string) (Env, error) {
	e := Env{
		FrameworkID:            getenv("MESOS_FRAMEWORK_ID"),
		ExecutorID:             getenv("MESOS_EXECUTOR_ID"),
		AgentID:                getenv("MESOS_SLAVE_ID"),
		Sandbox:                getenv("MESOS_SANDBOX"),
		AgentEndpoint:          getenv("MESOS_AGENT_ENDPOINT"),
		ShutdownGracePeriod:    DefaultShutdownGracePeriod,
		RecoveryTimeout:        DefaultRecoveryTimeout,
		SubscriptionBackoffMax: DefaultSubscriptionBackoffMax,
	}
	if e.AgentID == "" {
		e.AgentID = getenv("MESOS_AGENT_ID")
	}
	if e.Sandbox == "" {
		e.Sandbox = getenv("MESOS_DIRECTORY")
	}
	for _, req := range []struct{ name, value string }{
		{"MESOS_FRAMEWORK_ID", e.FrameworkID},
		{"MESOS_EXECUTOR_ID", e.ExecutorID},
		{"MESOS_AGENT_ENDPOINT", e.AgentEndpoint},
		{"MESOS_SANDBOX or MESOS_DIRECTORY", e.Sandbox},
	} {
		if req.value == "" {
			return Env{}, fmt.Errorf("%w; %s is not set", ErrNotUnderMesos, req.name)
		}
	}
	var errs []error
	durations := []struct {
		name string
		into *time.Duration
	}{
		{"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", &e.ShutdownGracePeriod},
		{"MESOS_RECOVERY_TIMEOUT", &e.RecoveryTimeout},
		{"MESOS_SUBSCRIPTION_BACKOFF_MAX", &e.SubscriptionBackoffMax},
	}
	for _, d := range durations {
		v := getenv(d.name)
		if v == "" {
			continue
		}
		parsed, err := ParseMesosDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.name, err))
			continue
		}
		*d.into = parsed
	}
	if v := getenv("MESOS_CHECKPOINT"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("MESOS_CHECKPOINT %q: %w", v, err))
		}
		e.Checkpoint = b
	}
	if err := errors.Join(errs...); err != nil {
		return Env{}, fmt.Errorf("bad Mesos environment: %w", err)
	}
	return e, nil
}

// mesosUnits are stout's duration units, longest suffix first where one
// ends another ("ms" before "s" is not an issue: stout has no bare "s").
var mesosUnits = []struct {
	suffix string
	unit   time.Duration
}{
	{"weeks", 7 * 24 * time.Hour},
	{"days", 24 * time.Hour},
	{"hrs", time.Hour},
	{"mins", time.Minute},
	{"secs", time.Second},
	{"ms", time.Millisecond},
	{"us", time.Microsecond},
	{"ns", time.Nanosecond},
}

// ParseMesosDuration parses a duration as Mesos (stout) writes them: a
// non-negative decimal number and one of the units ns, us, ms, secs, mins,
// hrs, days, weeks ("5secs", "1.5mins", "100ms").
func ParseMesosDuration(s string) (time.Duration, error) {
	for _, u := range mesosUnits {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f < 0 || num == "" || strings.ContainsAny(num, "+-eEnN") {
			return 0, fmt.Errorf("duration %q: want a non-negative number followed by a unit", s)
		}
		return time.Duration(f * float64(u.unit)), nil
	}
	return 0, fmt.Errorf("duration %q: unknown unit (want ns, us, ms, secs, mins, hrs, days or weeks)", s)
}
