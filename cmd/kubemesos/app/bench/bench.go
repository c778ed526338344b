// Package bench implements `kubemesos bench`: kubemesos against stock
// Kubernetes, side by side, on one machine (issue 8). Each measured run is
// a child process (`kubemesos bench run`), since the embedded control plane
// and kube-scheduler own process-wide state: mode A runs mesos-sim agents,
// the kubemesos framework and its kube-scheduler; mode B plain nodes, the
// stock kube-scheduler and a fake kubelet (internal/podbench). The parent
// interleaves A and B runs, reports medians and the ratio A/B, and writes
// the table to docs/benchmarks.md.
package bench

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
)

// FrameworkEnv is what mode A hands the framework.
type FrameworkEnv struct {
	// MesosURL is the mesos-sim master's base URL.
	MesosURL string
	// Kubeconfig is the admin kubeconfig file (for kube-scheduler);
	// RESTConfig the same as a client configuration, with the benchmark's
	// raised QPS and burst.
	Kubeconfig string
	RESTConfig *rest.Config
	// Dir is the framework's own directory.
	Dir string
	// SchedulerName is the benchmark pods' spec.schedulerName.
	SchedulerName string
	// ExecutorCommand starts the pod executor on process agents (this
	// binary, which the agents on this host can run).
	ExecutorCommand string
	Logger          *slog.Logger
	// Flags are flags of `kubemesos framework` that override the
	// framework's defaults (RunOptions.FrameworkFlags).
	Flags []string
}

// Framework is a running framework with its kube-scheduler.
type Framework interface {
	// Err reports a failure after the start.
	Err() <-chan error
	Stop() error
}

// StartFramework starts the kubemesos framework and its kube-scheduler and
// returns once they run. The command tree passes it in (package modea), so
// that this package does not depend on the framework.
type StartFramework func(context.Context, FrameworkEnv) (Framework, error)

// NewCommand returns the `bench` command with its hidden `run` child.
// startFramework nil makes mode A report itself unavailable.
func NewCommand(ctx context.Context, startFramework StartFramework) *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark kubemesos against stock Kubernetes: pods/s, startup latency and cost, side by side",
		Long: `Measure, on this machine, how fast pods go from creation to Running
(A) with kubemesos: mesos-sim with simulated agents, the kubemesos framework
and its kube-scheduler, and (B) with stock Kubernetes: as many plain nodes
with the same allocatable, the stock kube-scheduler and a kwok-style fake
kubelet. Both use the same embedded control plane, each run in a child
process of its own; A and B runs are interleaved and the table shows the
medians, the ratio A/B, startup latency percentiles and the cost: process
RSS and CPU, kube-apiserver writes, Mesos calls and declined offers per pod.

The table is printed and, unless --no-write, written to --output
(a section of docs/benchmarks.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return runBench(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.AddFlags(cmd.Flags())
	cmd.AddCommand(newRunCommand(ctx, startFramework))
	return cmd
}
