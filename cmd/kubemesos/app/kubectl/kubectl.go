// Package kubectl implements `kubemesos kubectl`: the real kubectl
// (k8s.io/kubectl), pointed at the cluster of `kubemesos up` unless told
// otherwise.
package kubectl

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/component-base/cli"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/plugin"
	"k8s.io/kubectl/pkg/cmd/util"
)

// NewCommand returns the `kubectl` subcommand. dataDir returns the data
// directory of `kubemesos up`, whose kubeconfig is used when neither
// KUBECONFIG nor --kubeconfig is given.
func NewCommand(dataDir func() string) *cobra.Command {
	return &cobra.Command{
		Use:   "kubectl [kubectl arguments]",
		Short: "Run kubectl against the kubemesos cluster (<data-dir>/kubeconfig unless KUBECONFIG or --kubeconfig is set)",
		// Every argument, flags included, belongs to kubectl.
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			if os.Getenv("KUBECONFIG") == "" && !hasKubeconfigFlag(args) {
				os.Setenv("KUBECONFIG", filepath.Join(dataDir(), "kubeconfig"))
			}
			Run(args)
			return nil
		},
	}
}

// Run runs kubectl with args. On failure it exits the process with
// kubectl's status, as kubectl does.
func Run(args []string) {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	cmd := kubectlcmd.NewDefaultKubectlCommandWithArgs(kubectlcmd.KubectlOptions{
		PluginHandler: kubectlcmd.NewDefaultPluginHandler(plugin.ValidPluginFilenamePrefixes),
		Arguments:     append([]string{"kubectl"}, args...),
		IOStreams:     streams,
	})
	cmd.SetArgs(args)
	if err := cli.RunNoErrOutput(cmd); err != nil {
		util.CheckErr(err)
	}
}

// hasKubeconfigFlag reports whether args name a kubeconfig.
func hasKubeconfigFlag(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--kubeconfig" || strings.HasPrefix(a, "--kubeconfig=") {
			return true
		}
	}
	return false
}
