package version

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kubemesos/kubemesos/executor/protocol"
	"github.com/kubemesos/kubemesos/internal/buildinfo"
)

func TestCommand(t *testing.T) {
	info := buildinfo.Get()
	infoJSON, _ := json.Marshal(info)
	v := protocol.Current()
	proto := fmt.Sprintf("%d.%d", v.GetMajor(), v.GetMinor())
	plainJSON := strings.TrimSuffix(string(infoJSON), "}") + `,"executor_protocol":"` + proto + `"}`
	withExecutor := strings.TrimSuffix(plainJSON, "}") + `,"executor":"slim"}`
	text := info.String() + ", executor protocol " + proto + "\n"
	for _, tc := range []struct {
		name     string
		executor func() string
		args     []string
		want     string
		wantErr  string
	}{
		{"text", nil, nil, text, ""},
		{"text with the executor", func() string { return "slim" }, nil, text + "executor: slim\n", ""},
		{"json", nil, []string{"-o", "json"}, plainJSON, ""},
		{"json with the executor", func() string { return "slim" }, []string{"-o", "json"}, withExecutor, ""},
		{"unknown format", nil, []string{"-o", "yaml"}, "", `unknown --output "yaml"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := NewCommand(tc.executor)
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetArgs(tc.args)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := out.String()
			if strings.HasPrefix(tc.want, "{") {
				var compact bytes.Buffer
				if err := json.Compact(&compact, out.Bytes()); err != nil {
					t.Fatal(err)
				}
				got = compact.String()
			}
			if got != tc.want {
				t.Errorf("output %q, want %q", got, tc.want)
			}
		})
	}
}
