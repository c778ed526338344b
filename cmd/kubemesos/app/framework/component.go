package framework

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/executorbin"
	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/up"
)

// UpComponent runs the framework inside `kubemesos up`: it schedules the
// pods that name no scheduler (default-scheduler), serves its endpoint on a
// free loopback port, and starts executors from a local path, since up's
// agents run on this host: the slim executor this binary embeds, extracted
// into the data directory, or else this binary.
func UpComponent() up.Component { return &component{} }

type component struct{ running *Running }

func (c *component) Name() string { return "kubemesos framework" }

func (c *component) Start(ctx context.Context, env up.Env) error {
	o := NewOptions()
	o.Framework.MesosURL = env.MesosURL
	o.Framework.SchedulerName = "default-scheduler"
	o.Listen = "127.0.0.1:0"
	executable, err := executorbin.Executable(env.DataDir)
	if err != nil {
		return err
	}
	dir := filepath.Join(env.DataDir, "framework")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := os.ReadFile(filepath.Join(env.DataDir, "pki", "ca.crt"))
	if err != nil {
		return fmt.Errorf("the cluster CA, to verify kube-apiserver on the kubelet API: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return fmt.Errorf("the cluster CA has no certificate")
	}
	r, err := Start(ctx, o, Env{
		Kubeconfig: env.Kubeconfig, RESTConfig: env.RESTConfig, Dir: dir, KubeletClientCA: pool,
		ExecutorCommand: "exec '" + strings.ReplaceAll(executable, "'", `'\''`) + "' executor", Logger: env.Logger,
	})
	if err != nil {
		return err
	}
	c.running = r
	return nil
}

func (c *component) Stop(context.Context) error { return c.running.Stop() }

func (c *component) Err() <-chan error { return c.running.Err() }
