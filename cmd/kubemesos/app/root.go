// Package app assembles the kubemesos command tree. Each subcommand lives in
// its own package under app/ and exports NewCommand; this package only
// registers them, so main stays a one-liner.
package app

import (
	"context"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/agent"
	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/bench"
	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/bench/modea"
	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/executor"
	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/executorbin"
	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/framework"
	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/kubectl"
	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/master"
	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/up"
	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/version"
)

// NewCommand returns the root `kubemesos` command with every subcommand.
func NewCommand(ctx context.Context) *cobra.Command {
	root := &cobra.Command{
		Use:           "kubemesos",
		Short:         "Kubernetes as an Apache Mesos framework, in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Before any subcommand runs (none has a PersistentPreRunE of its
		// own, which would replace this one).
		PersistentPreRunE: func(*cobra.Command, []string) error { return applyProtocolMinor(os.Getenv) },
	}
	// k8s.io/component-base/version/verflag registers --version on the global
	// pflag set when the embedded components are linked in, and cobra shows
	// global flags on every command. kubemesos has `kubemesos version`.
	_ = pflag.CommandLine.MarkHidden("version")
	root.AddCommand(
		version.NewCommand(executorbin.Describe),
		master.NewCommand(ctx),
		agent.NewCommand(ctx),
		up.NewCommand(ctx, framework.UpComponent()),
		framework.NewCommand(ctx),
		executor.NewCommand(ctx),
		kubectl.NewCommand(up.DefaultDataDir),
		bench.NewCommand(ctx, modea.Start),
	)
	return root
}
