package executor

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseMesosDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"5secs", 5 * time.Second, false},
		{"1mins", time.Minute, false},
		{"15mins", 15 * time.Minute, false},
		{"100ms", 100 * time.Millisecond, false},
		{"1.5secs", 1500 * time.Millisecond, false},
		{"2hrs", 2 * time.Hour, false},
		{"1days", 24 * time.Hour, false},
		{"1weeks", 7 * 24 * time.Hour, false},
		{"250us", 250 * time.Microsecond, false},
		{"0ns", 0, false},
		{"5", 0, true},
		{"5s", 0, true},
		{"secs", 0, true},
		{"-1secs", 0, true},
		{"1e3secs", 0, true},
		{"", 0, true},
	} {
		got, err := ParseMesosDuration(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseMesosDuration(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestEnvFrom(t *testing.T) {
	full := map[string]string{
		"MESOS_FRAMEWORK_ID": "fw", "MESOS_EXECUTOR_ID": "kubemesos", "MESOS_DIRECTORY": "/d", "MESOS_SANDBOX": "/s",
		"MESOS_AGENT_ENDPOINT": "127.0.0.1:5051", "MESOS_SLAVE_ID": "a1", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "10secs",
	}
	with := func(changes map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		for k, v := range changes {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	for _, tc := range []struct {
		name  string
		env   map[string]string
		check func(Env) bool
		err   string
	}{
		{"complete", full, func(e Env) bool {
			return e.Sandbox == "/s" && e.AgentID == "a1" && e.ShutdownGracePeriod == 10*time.Second && !e.Checkpoint &&
				e.RecoveryTimeout == DefaultRecoveryTimeout
		}, ""},
		{"sandbox falls back to the directory", with(map[string]string{"MESOS_SANDBOX": ""}), func(e Env) bool { return e.Sandbox == "/d" }, ""},
		{"checkpoint with defaults", with(map[string]string{"MESOS_CHECKPOINT": "1"}), func(e Env) bool {
			return e.Checkpoint && e.RecoveryTimeout == 15*time.Minute && e.SubscriptionBackoffMax == DefaultSubscriptionBackoffMax
		}, ""},
		{"checkpoint with timeouts", with(map[string]string{"MESOS_CHECKPOINT": "1", "MESOS_RECOVERY_TIMEOUT": "1mins", "MESOS_SUBSCRIPTION_BACKOFF_MAX": "500ms"}), func(e Env) bool {
			return e.RecoveryTimeout == time.Minute && e.SubscriptionBackoffMax == 500*time.Millisecond
		}, ""},
		{"not under Mesos", map[string]string{}, nil, "kubemesos executor is started by a Mesos agent; MESOS_FRAMEWORK_ID is not set"},
		{"no endpoint", with(map[string]string{"MESOS_AGENT_ENDPOINT": ""}), nil, "MESOS_AGENT_ENDPOINT is not set"},
		{"bad duration", with(map[string]string{"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "5 seconds"}), nil, "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"},
		{"bad checkpoint", with(map[string]string{"MESOS_CHECKPOINT": "maybe"}), nil, "MESOS_CHECKPOINT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := EnvFrom(func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !tc.check(e) {
				t.Fatalf("EnvFrom = %+v, %v", e, err)
			}
		})
	}
	if _, err := EnvFrom(func(string) string { return "" }); !errors.Is(err, ErrNotUnderMesos) {
		t.Errorf("error %v, want ErrNotUnderMesos", err)
	}
}

func TestHostIP(t *testing.T) {
	for _, tc := range []struct{ endpoint, hostname, want string }{
		{"10.0.0.5:5051", "agent-0", "10.0.0.5"},
		{"0.0.0.0:5051", "192.168.1.2", "192.168.1.2"},
		{"agent.invalid:5051", "localhost", "127.0.0.1"},
		{"agent.invalid:5051", "", "127.0.0.1"},
	} {
		if got := hostIPFrom(tc.endpoint, tc.hostname); got != tc.want {
			t.Errorf("hostIPFrom(%q, %q) = %q, want %q", tc.endpoint, tc.hostname, got, tc.want)
		}
	}
}
