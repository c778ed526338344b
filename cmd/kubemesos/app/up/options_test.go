package up

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestOptionsAgentPingFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(o *Options) bool
	}{
		{"defaults are the master's", nil, "", func(o *Options) bool {
			return o.AgentPingTimeout == 15*time.Second && o.MaxAgentPingTimeouts == 5
		}},
		{"short health checks for fault tests", []string{"--agent-ping-timeout=500ms", "--max-agent-ping-timeouts=2"}, "", func(o *Options) bool {
			return o.AgentPingTimeout == 500*time.Millisecond && o.MaxAgentPingTimeouts == 2
		}},
		{"zero ping timeout", []string{"--agent-ping-timeout=0s"}, "--agent-ping-timeout", nil},
		{"negative max pings", []string{"--max-agent-ping-timeouts=-1"}, "--max-agent-ping-timeouts", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewOptions()
			o.DataDir = t.TempDir()
			fs := pflag.NewFlagSet("up", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := o.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate = %v, want an error about %s", err, tt.wantErr)
			case tt.check != nil && !tt.check(o):
				t.Errorf("options %+v", o)
			}
		})
	}
}
