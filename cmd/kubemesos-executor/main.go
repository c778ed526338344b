// Command kubemesos-executor is the slim executor: `kubemesos executor` and
// `kubemesos version` built without the rest of kubemesos (no Kubernetes
// components linked in, so none of their package initialisation runs).
// `make build` builds it first and embeds it in bin/kubemesos
// (cmd/kubemesos/app/executorbin), which serves it to agents and runs it in
// `kubemesos up`. It takes the same command line and environment as
// `kubemesos executor`, since agents start it as `./kubemesos executor`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/executor"
	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newCommand(ctx).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "kubemesos:", err)
		os.Exit(1)
	}
}

// newCommand returns the root command: `kubemesos` with the executor and
// version subcommands of the full binary.
func newCommand(ctx context.Context) *cobra.Command {
	root := &cobra.Command{
		Use:           "kubemesos",
		Short:         "The kubemesos executor alone (the slim build carried inside kubemesos)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(version.NewCommand(nil), executor.NewCommand(ctx))
	return root
}
