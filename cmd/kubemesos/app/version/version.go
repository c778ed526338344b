// Package version implements `kubemesos version`: it prints the build
// information of the binary, as text or JSON.
package version

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubemesos/kubemesos/internal/buildinfo"
)

// output is what `version -o json` prints: the build information and, in
// the full binary, which executor it runs on agents.
type output struct {
	buildinfo.Info
	Executor string `json:"executor,omitempty"`
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
			out := output{Info: buildinfo.Get()}
			if executor != nil {
				out.Executor = executor()
			}
			switch format {
			case "", "text":
				text := out.Info.String() + "\n"
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
