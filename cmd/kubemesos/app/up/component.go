package up

import (
	"context"
	"log/slog"

	"k8s.io/client-go/rest"
)

// Component is a part of the cluster that `kubemesos up` starts after the
// control plane and the Mesos master are ready, and stops before them: the
// framework and kube-scheduler are added this way. Components start in the
// order given and stop in reverse.
type Component interface {
	// Name is shown in progress lines and errors.
	Name() string
	// Start returns once the component is ready, or fails having cleaned up
	// whatever it started; Stop is called only after a successful Start.
	Start(ctx context.Context, env Env) error
	// Stop ends it and returns once it is gone.
	Stop(ctx context.Context) error
	// Err reports a failure after a successful Start; up then shuts the
	// whole cluster down with that error.
	Err() <-chan error
}

// Env is what a Component gets to work with.
type Env struct {
	// DataDir is the cluster's data directory; a component keeps its files in
	// a subdirectory named after it.
	DataDir string
	// Kubeconfig is the admin kubeconfig; RESTConfig the same as a client
	// configuration.
	Kubeconfig string
	RESTConfig *rest.Config
	// MesosURL is the Mesos master (http://host:port).
	MesosURL string
	Logger   *slog.Logger
}
