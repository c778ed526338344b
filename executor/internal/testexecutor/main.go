// Command testexecutor is the kubemesos executor without the rest of the
// kubemesos binary, for the executor's integration tests and benchmarks: it
// is `kubemesos executor` (MESOS_* environment, the real runner, logs on
// stderr at KUBEMESOS_EXECUTOR_LOG_LEVEL, default debug) and ignores its
// arguments (the agent runs it as `testexecutor executor`).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kubemesos/kubemesos/executor"
	"github.com/kubemesos/kubemesos/executor/runner"
	"github.com/kubemesos/kubemesos/internal/logging"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testexecutor:", err)
		os.Exit(1)
	}
}

func run() error {
	level := os.Getenv("KUBEMESOS_EXECUTOR_LOG_LEVEL")
	if level == "" {
		level = "debug"
	}
	log, err := logging.New(os.Stderr, level)
	if err != nil {
		return err
	}
	env, err := executor.EnvFrom(os.Getenv)
	if err != nil {
		return err
	}
	d, err := executor.New(executor.Config{Env: env, Logger: log, Cgroups: runner.DetectCgroups("", log)})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return d.Run(ctx)
}
