package controlplane

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"

	"github.com/kubemesos/kubemesos/controlplane/pki"
)

// controllerManagerArgs are the kube-controller-manager flags of the
// embedded control plane.
func controllerManagerArgs(p pki.Paths, kubeconfig, volumePlugins string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		// No serving: nothing outside the process needs its healthz or metrics,
		// and a fixed port would collide with other clusters on the host.
		"--secure-port=0",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + p.ServiceAccountKey(),
		"--root-ca-file=" + p.Cert(pki.CAName),
		"--cluster-signing-cert-file=" + p.Cert(pki.CAName),
		"--cluster-signing-key-file=" + p.Key(pki.CAName),
		"--cluster-name=" + clusterName,
		"--controllers=*,bootstrapsigner,tokencleaner",
		"--flex-volume-plugin-dir=" + volumePlugins,
		// The client limits Kubernetes' own scale tests give it for 5,000
		// nodes, not the defaults (20 QPS, burst 30) meant to protect a
		// shared API server: at 20 QPS per controller, the node lifecycle
		// controller took 3m40s to lift the not-ready taints of 1,000 new
		// nodes, and a ReplicaSet is created at 20 pods/s.
		"--kube-api-qps=100",
		"--kube-api-burst=200",
	}
}

// newControllerManager parses args into kube-controller-manager options and
// builds its configuration. The returned function runs it until ctx ends.
func newControllerManager(ctx context.Context, args []string) (func(context.Context) error, error) {
	s, err := kcmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return nil, fmt.Errorf("kube-controller-manager: %w", err)
	}
	known, disabled, aliases := kcmapp.KnownControllers(), kcmapp.ControllersDisabledByDefault(), kcmapp.ControllerAliases()
	named := s.Flags(known, disabled, aliases)
	fs := pflag.NewFlagSet("kube-controller-manager", pflag.ContinueOnError)
	for _, f := range named.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("kube-controller-manager flags: %w", err)
	}
	s.ParsedFlags = &named
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	if err := s.ComponentGlobalsRegistry.Set(); err != nil {
		return nil, fmt.Errorf("kube-controller-manager: %w", err)
	}
	c, err := s.Config(ctx, known, disabled, aliases)
	if err != nil {
		return nil, fmt.Errorf("kube-controller-manager: %w", err)
	}
	completed := c.Complete()
	return func(ctx context.Context) error { return kcmapp.Run(ctx, completed) }, nil
}
