package executor

import (
	"context"
	"strings"
	"testing"
)

func TestCommand(t *testing.T) {
	for _, name := range []string{"MESOS_FRAMEWORK_ID", "MESOS_EXECUTOR_ID", "MESOS_AGENT_ENDPOINT", "MESOS_SANDBOX", "MESOS_DIRECTORY"} {
		t.Setenv(name, "")
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"outside Mesos", nil, "kubemesos executor is started by a Mesos agent; MESOS_FRAMEWORK_ID is not set"},
		{"bad log level", []string{"--log-level", "loud"}, `unknown log level "loud"`},
		{"no container-init any more", []string{"container-init"}, `unknown command "container-init"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := NewCommand(context.Background())
			cmd.SetArgs(tc.args)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
