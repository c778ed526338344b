// Package framework implements `kubemesos framework`: the kubemesos Mesos
// framework (package framework), its own HTTP endpoint (framework/endpoint)
// and the stock kube-scheduler with the MesosOffers plugin (kubescheduler,
// scheduler-plugin/mesosoffers), run together against a Mesos master and a
// Kubernetes cluster. `kubemesos up` runs the same thing as a Component.
package framework

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubemesos/kubemesos/cmd/kubemesos/app/executorbin"
	"github.com/kubemesos/kubemesos/framework"
	"github.com/kubemesos/kubemesos/framework/endpoint"
	"github.com/kubemesos/kubemesos/internal/buildinfo"
	"github.com/kubemesos/kubemesos/internal/logging"
	"github.com/kubemesos/kubemesos/kubescheduler"
	"github.com/kubemesos/kubemesos/scheduler-plugin/mesosoffers"
)

// NewCommand returns the `framework` subcommand.
func NewCommand(ctx context.Context) *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "framework",
		Short: "Run the kubemesos Mesos framework and its kube-scheduler against a Mesos master and a Kubernetes cluster",
		Long: `Run kubemesos as a Mesos framework: subscribe to --mesos-master, turn its
agents into Kubernetes nodes, and schedule the pods whose schedulerName is
--scheduler-name with the stock kube-scheduler and the MesosOffers plugin,
launching each pod as a Mesos task run by the kubemesos executor.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			logger, err := logging.New(cmd.ErrOrStderr(), o.LogLevel)
			if err != nil {
				return err
			}
			kubeconfig, restConfig, err := loadKubeconfig(o.Kubeconfig)
			if err != nil {
				return err
			}
			dir, err := os.MkdirTemp("", "kubemesos-framework-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			var lost <-chan struct{}
			if o.LeaderElection.Enabled {
				if lost, err = lead(ctx, o.LeaderElection, restConfig, logger); err != nil {
					return err
				}
			}
			r, err := Start(ctx, o, Env{Kubeconfig: kubeconfig, RESTConfig: restConfig, Dir: dir, Logger: logger})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "kubemesos framework is subscribed to %s; endpoint https://%s\n", o.Framework.MesosURL, r.Addr())
			done := make(chan error, 1)
			go func() { done <- r.Wait() }()
			select {
			case err := <-done:
				return err
			case <-lost:
				if ctx.Err() != nil {
					// A clean stop releases the lease: not a loss.
					return <-done
				}
				// Another replica may lead now: stop at once, so that two
				// processes never schedule together.
				_ = r.Stop()
				return errors.New("lost the leader lease")
			}
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// loadKubeconfig finds the kubeconfig as kubectl does (flag, $KUBECONFIG,
// ~/.kube/config) and writes one to a file when only in-cluster
// configuration exists (kube-scheduler reads a file).
func loadKubeconfig(path string) (string, *rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	restConfig, err := cc.ClientConfig()
	if err != nil {
		return "", nil, fmt.Errorf("kubeconfig: %w", err)
	}
	if path == "" {
		if files := rules.GetLoadingPrecedence(); len(files) > 0 {
			for _, f := range files {
				if _, err := os.Stat(f); err == nil {
					return f, restConfig, nil
				}
			}
		}
		return "", nil, errors.New("kubeconfig: none found; give --kubeconfig")
	}
	return path, restConfig, nil
}

// Env is what Start needs besides the options.
type Env struct {
	// Kubeconfig is a kubeconfig file (for kube-scheduler); RESTConfig the
	// same as a client configuration.
	Kubeconfig string
	RESTConfig *rest.Config
	// Dir holds the kube-scheduler's configuration file.
	Dir string
	// KubeletClientCA verifies the kube-apiserver's kubelet client on the
	// kubelet API; it overrides Options.KubeletClientCA.
	KubeletClientCA *x509.CertPool
	// ExecutorCommand, when set, starts the executor from a path the agents
	// already have (no download): `kubemesos up` runs agents on this host.
	ExecutorCommand string
	Logger          *slog.Logger
}

// Running is a started framework.
type Running struct {
	endpoint *endpoint.Server
	group    *errgroup.Group
	cancel   context.CancelFunc
	stopping atomic.Bool
	errc     chan error
}

// Start starts the endpoint, the framework and kube-scheduler, and returns
// once the framework has subscribed to the Mesos master and kube-scheduler
// runs. It fails, having stopped what it started, if any of them fails
// first or ctx ends.
func Start(ctx context.Context, o *Options, env Env) (_ *Running, err error) {
	log := env.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	secret, err := o.secret()
	if err != nil {
		return nil, err
	}
	clientCA := env.KubeletClientCA
	if clientCA == nil && o.KubeletClientCA != "" {
		pem, err := os.ReadFile(o.KubeletClientCA)
		if err != nil {
			return nil, fmt.Errorf("--kubelet-client-ca: %w", err)
		}
		clientCA = x509.NewCertPool()
		if !clientCA.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--kubelet-client-ca %s: no certificate in it", o.KubeletClientCA)
		}
	}
	// Agents fetch the slim executor this binary embeds, or else this binary.
	serve := endpoint.Config{ExecutorImage: executorbin.Image()}
	if serve.ExecutorImage == nil {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the kubemesos binary to serve to agents: %w", err)
		}
		serve.ExecutorBinary = self
	}
	restConfig := rest.CopyConfig(env.RESTConfig)
	restConfig.QPS, restConfig.Burst = o.KubeAPIQPS, o.KubeAPIBurst
	kube, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		if err != nil {
			cancel()
		}
	}()
	// The endpoint starts first (the framework needs its address); until
	// the framework exists it answers logs and metrics requests with 404.
	late := &lateFramework{}
	ep, err := endpoint.New(endpoint.Config{
		Listen: o.Listen, ExecutorBinary: serve.ExecutorBinary, ExecutorImage: serve.ExecutorImage, Metrics: late, Logs: late,
		ClientCA: clientCA, Logger: log.With("component", "endpoint"),
	})
	if err != nil {
		return nil, err
	}
	if err := ep.Start(ctx); err != nil {
		return nil, err
	}
	host, portText, _ := net.SplitHostPort(ep.Addr())
	port, _ := strconv.Atoi(portText)
	executorURI := ""
	if o.Framework.ExecutorURI == "" && env.ExecutorCommand == "" {
		executorURI = "http://" + ep.Addr() + "/executor/kubemesos"
	}
	cfg := o.Framework
	cfg.Secret = secret
	cfg.KubeletHost, cfg.KubeletPort, cfg.Version = host, int32(port), buildinfo.Version
	if cfg.ExecutorURI == "" {
		cfg.ExecutorURI = executorURI
	}
	if env.ExecutorCommand != "" {
		cfg.ExecutorCommand = env.ExecutorCommand
	}
	fw, err := framework.New(cfg, kube, log)
	if err != nil {
		_ = ep.Stop(context.Background())
		return nil, err
	}
	late.fw.Store(fw)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return fw.Run(gctx) })
	select {
	case <-fw.Ready():
	case <-gctx.Done():
		cancel()
		werr := g.Wait()
		_ = ep.Stop(context.Background())
		if werr == nil {
			werr = ctx.Err()
		}
		return nil, fmt.Errorf("framework: %w", werr)
	}
	g.Go(func() error {
		return kubescheduler.Run(gctx, kubescheduler.Config{
			Kubeconfig: env.Kubeconfig, SchedulerName: cfg.SchedulerName, Dir: env.Dir,
			QPS: o.KubeAPIQPS, Burst: int32(o.KubeAPIBurst),
			Plugins: []kubescheduler.Plugin{{
				Name: mesosoffers.Name, Factory: mesosoffers.NewFactory(fw.Offers()), Binder: true,
				// Nodes whose agent offers nothing now (declined offers,
				// other frameworks' use) fail here before the default
				// plugins look at them.
				FilterFirst: true,
				Args:        mesosoffers.Args{ScoringStrategy: o.Scoring, DefaultRole: fw.DefaultRole()},
			}},
		})
	})
	r := &Running{endpoint: ep, group: g, cancel: cancel, errc: make(chan error, 1)}
	go func() {
		// The first of them to end ends the others (errgroup); a failure
		// not asked for by Stop is reported on Err.
		<-gctx.Done()
		if !r.stopping.Load() {
			if err := context.Cause(gctx); err != nil && !errors.Is(err, context.Canceled) {
				r.errc <- err
			} else if ctx.Err() == nil {
				r.errc <- errors.New("ended unexpectedly")
			}
		}
		close(r.errc)
	}()
	return r, nil
}

// Err reports a failure of the framework or kube-scheduler after Start,
// once; it is closed when they end.
func (r *Running) Err() <-chan error { return r.errc }

// Addr is the endpoint's address.
func (r *Running) Addr() string { return r.endpoint.Addr() }

// Wait blocks until the framework or kube-scheduler ends, and returns why.
func (r *Running) Wait() error {
	err := r.group.Wait()
	r.cancel()
	if serr := r.endpoint.Stop(context.Background()); err == nil {
		err = serr
	}
	return err
}

// Stop ends everything and waits for it.
func (r *Running) Stop() error {
	r.stopping.Store(true)
	r.cancel()
	err := r.group.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	if serr := r.endpoint.Stop(context.Background()); err == nil {
		err = serr
	}
	return err
}

// lateFramework serves the framework's logs and metrics to the endpoint
// once the framework exists.
type lateFramework struct {
	fw atomic.Pointer[framework.Framework]
}

func (l *lateFramework) LogFile(namespace, pod, container string, previous bool) (string, string, error) {
	fw := l.fw.Load()
	if fw == nil {
		return "", "", fmt.Errorf("%w: the framework is starting", endpoint.ErrNotFound)
	}
	return fw.LogLocation(namespace, pod, container, previous)
}

// ServeHTTP serves /metrics: the framework's metrics and kube-scheduler's.
func (l *lateFramework) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fw := l.fw.Load()
	if fw == nil {
		http.Error(w, "the framework is starting", http.StatusServiceUnavailable)
		return
	}
	gatherers := prometheus.Gatherers{fw.MetricsRegistry(), kubescheduler.Metrics()}
	promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}
