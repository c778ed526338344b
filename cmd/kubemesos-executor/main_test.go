package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kubemesos/kubemesos/executor/protocol"
	"github.com/kubemesos/kubemesos/internal/buildinfo"
)

func TestCommand(t *testing.T) {
	for _, name := range []string{"MESOS_FRAMEWORK_ID", "MESOS_EXECUTOR_ID", "MESOS_AGENT_ENDPOINT", "MESOS_SANDBOX", "MESOS_DIRECTORY"} {
		t.Setenv(name, "")
	}
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string // "" : success
		wantOut string
	}{
		{"executor outside Mesos", []string{"executor"}, "kubemesos executor is started by a Mesos agent; MESOS_FRAMEWORK_ID is not set", ""},
		{"executor flags", []string{"executor", "--log-level", "loud"}, `unknown log level "loud"`, ""},
		{"version", []string{"version"}, "", fmt.Sprintf("%s, executor protocol %d.%d\n", buildinfo.Get(), protocol.Current().GetMajor(), protocol.Current().GetMinor())},
		{"no other subcommands", []string{"up"}, `unknown command "up"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := newCommand(context.Background())
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetArgs(tc.args)
			err := cmd.Execute()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if out.String() != tc.wantOut {
				t.Errorf("output %q, want %q", out.String(), tc.wantOut)
			}
		})
	}
}
