// Package version implements `kubemesos version`: it prints the build
// information of the binary and the executor protocol version it speaks, as
// text or JSON.
package version

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubemesos/kubemesos/executor/protocol"
	"github.com/kubemesos/kubemesos/internal/buildinfo"
)

// output is what `version -o json` prints: the build information, the
// executor protocol version (two builds must share its major to work
// together) and, in the full binary, which executor it runs on agents.
type output struct {
	buildinfo.Info
	ExecutorProtocol string `json:"executor_protocol"`
	Executor         string `json:"executor,omitempty"`
}

// NewCommand returns the `version` subcommand. executor, if not nil, says
// in a few words which executor the binary runs on agents (printed on a
// second line, "executor: ..."); the slim executor's own `version` passes
// nil.
func NewCommand(executor func() string) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the kubemesos version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := protocol.Current()
			out := output{Info: buildinfo.Get(), ExecutorProtocol: fmt.Sprintf("%d.%d", v.GetMajor(), v.GetMinor())}
			if executor != nil {
				out.Executor = executor()
			}
			switch format {
			case "", "text":
				text := fmt.Sprintf("%s, executor protocol %s\n", out.Info, out.ExecutorProtocol)
				if out.Executor != "" {
					text += "executor: " + out.Executor + "\n"
				}
				_, err := fmt.Fprint(cmd.OutOrStdout(), text)
				return err
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			default:
				return fmt.Errorf("unknown --output %q: use text or json", format)
			}
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text or json")
	return cmd
}
