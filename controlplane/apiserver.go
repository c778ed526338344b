package controlplane

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/pflag"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/rest"
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"

	"github.com/kubemesos/kubemesos/controlplane/pki"
)

// ServiceClusterIPRange is the range of Service cluster IPs.
const ServiceClusterIPRange = "10.96.0.0/12"

// apiServerArgs are the kube-apiserver flags of the embedded control plane.
func apiServerArgs(p pki.Paths, etcdURL, bind, advertise string, port int) []string {
	return []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=" + bind,
		"--advertise-address=" + advertise,
		"--secure-port=" + strconv.Itoa(port),
		// A loopback advertise address is refused by the default (lease)
		// endpoint reconciler; with one apiserver there is nothing to reconcile.
		"--endpoint-reconciler-type=none",
		"--service-cluster-ip-range=" + ServiceClusterIPRange,
		"--tls-cert-file=" + p.Cert(pki.APIServerName),
		"--tls-private-key-file=" + p.Key(pki.APIServerName),
		"--client-ca-file=" + p.Cert(pki.CAName),
		"--kubelet-client-certificate=" + p.Cert(pki.APIServerKubeletName),
		"--kubelet-client-key=" + p.Key(pki.APIServerKubeletName),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.ServiceAccountPub(),
		"--service-account-signing-key-file=" + p.ServiceAccountKey(),
		"--authorization-mode=Node,RBAC",
		"--allow-privileged=true",
		"--enable-bootstrap-token-auth=true",
	}
}

// newAPIServer parses args into kube-apiserver options and completes them.
// ln, when not nil, is the already bound secure listener. The returned
// function runs the server until ctx ends.
func newAPIServer(ctx context.Context, args []string, ln net.Listener) (func(context.Context) error, error) {
	s := apiserveroptions.NewServerRunOptions()
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	for _, f := range s.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("kube-apiserver flags: %w", err)
	}
	if ln != nil {
		s.SecureServing.Listener = ln
	}
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return nil, fmt.Errorf("kube-apiserver: %w", err)
	}
	// The apiserver's loopback clients should not log self-issued warnings.
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	completed, err := s.Complete(ctx)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver: %w", err)
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return nil, fmt.Errorf("kube-apiserver: %w", utilerrors.NewAggregate(errs))
	}
	return func(ctx context.Context) error { return apiserverapp.Run(ctx, completed) }, nil
}
