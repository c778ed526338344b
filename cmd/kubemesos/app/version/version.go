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

// info is the build information and the executor protocol version (which
// two builds must share the major of to work together).
type info struct {
	buildinfo.Info
	ExecutorProtocol string `json:"executor_protocol"`
}

// NewCommand returns the `version` subcommand.
func NewCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the kubemesos version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := protocol.Current()
			info := info{Info: buildinfo.Get(), ExecutorProtocol: fmt.Sprintf("%d.%d", v.GetMajor(), v.GetMinor())}
			switch output {
			case "", "text":
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s, executor protocol %s\n", info.Info, info.ExecutorProtocol)
				return err
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			default:
				return fmt.Errorf("unknown --output %q: use text or json", output)
			}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
