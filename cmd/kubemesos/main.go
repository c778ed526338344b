// Command kubemesos is the single kubemesos binary: the Mesos framework, its
// executor, the bundled mesos-sim master and agents, and the local cluster.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kubemesos/kubemesos/cmd/kubemesos/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.NewCommand(ctx).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "kubemesos:", err)
		os.Exit(1)
	}
}
