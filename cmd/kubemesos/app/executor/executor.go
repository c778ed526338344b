// Package executor implements `kubemesos executor`: the Mesos executor that
// runs Kubernetes pods on a Mesos agent (package executor), configured by the
// agent's MESOS_* environment.
package executor

import (
	"context"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	execd "github.com/kubemesos/kubemesos/executor"
	"github.com/kubemesos/kubemesos/executor/runner"
	"github.com/kubemesos/kubemesos/internal/logging"
)

// Options are the flags of `kubemesos executor`.
type Options struct {
	LogLevel string
}

// NewOptions returns the defaults.
func NewOptions() *Options { return &Options{LogLevel: "info"} }

// AddFlags binds the options to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "log level: debug, info, warn or error")
}

// NewCommand returns the `executor` subcommand.
func NewCommand(ctx context.Context) *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "executor",
		Short: "Run the kubemesos executor (started by a Mesos agent)",
		Long: `Run the kubemesos executor: a Mesos agent starts it, with the MESOS_*
environment of a Mesos executor, when the kubemesos framework launches a pod
on that agent. It runs every pod the framework sends it and reports their
status through Mesos. It is not meant to be started by hand.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Run(ctx, o)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// Run reads the Mesos environment and runs the executor until it exits.
func Run(ctx context.Context, o *Options) error {
	log, err := logging.New(os.Stderr, o.LogLevel)
	if err != nil {
		return err
	}
	env, err := execd.EnvFrom(os.Getenv)
	if err != nil {
		return err
	}
	d, err := execd.New(execd.Config{Env: env, Logger: log, Cgroups: runner.DetectCgroups("", log)})
	if err != nil {
		return err
	}
	return d.Run(ctx)
}
