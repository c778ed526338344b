// Package modea starts mode A of `kubemesos bench`: the kubemesos framework
// and its kube-scheduler, as `kubemesos framework` runs them. It is the
// one place where the benchmark meets the framework, handed to
// bench.NewCommand by the command tree.
package modea

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/bench"
	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/framework"
)

// Start starts the framework with its defaults, against env's Mesos master
// and cluster, its endpoint on a free loopback port, but one: pods are
// spread (--scoring Spread), as mode B's stock kube-scheduler spreads them
// (NodeResourcesFit, LeastAllocated), so that both place pods alike.
// env.Flags, flags of `kubemesos framework`, override all of it but the
// master, the scheduler name and the endpoint.
func Start(ctx context.Context, env bench.FrameworkEnv) (bench.Framework, error) {
	o := framework.NewOptions()
	o.Scoring = "Spread"
	// The same client limits as mode B's kube-scheduler.
	o.KubeAPIQPS, o.KubeAPIBurst = env.RESTConfig.QPS, env.RESTConfig.Burst
	fs := pflag.NewFlagSet("framework", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.AddFlags(fs)
	if err := fs.Parse(env.Flags); err != nil {
		return nil, fmt.Errorf("--framework-flag: %w", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("--framework-flag: %q is not a flag", fs.Arg(0))
	}
	o.Framework.MesosURL = env.MesosURL
	o.Framework.SchedulerName = env.SchedulerName
	o.Listen = "127.0.0.1:0"
	if err := o.Validate(); err != nil {
		return nil, err
	}
	r, err := framework.Start(ctx, o, framework.Env{
		Kubeconfig: env.Kubeconfig, RESTConfig: env.RESTConfig, Dir: env.Dir,
		ExecutorCommand: env.ExecutorCommand, Logger: env.Logger,
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}
