package controlplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubemesos/kubemesos/controlplane/datadir"
	"github.com/kubemesos/kubemesos/controlplane/pki"
)

// Defaults.
const (
	DefaultReadyTimeout = 2 * time.Minute
	DefaultStopTimeout  = 30 * time.Second
)

// Step is one finished stage of Start, for progress reports.
type Step struct {
	Component string
	Detail    string
	Took      time.Duration
}

// Config configures the control plane.
type Config struct {
	// Layout is the data directory; Prepare it first.
	Layout datadir.Layout
	// Address is the IP the kube-apiserver binds and advertises. An
	// unspecified address (0.0.0.0) binds every interface and advertises
	// 127.0.0.1.
	Address string
	// APIPort is the kube-apiserver's secure port.
	APIPort int
	// APIListener, when set, is the already bound secure listener (so a busy
	// port is reported before anything starts); it must be on Address:APIPort.
	APIListener net.Listener
	// ReadyTimeout bounds how long each component may take to become ready.
	ReadyTimeout time.Duration
	// StopTimeout bounds how long each component may take to stop.
	StopTimeout time.Duration
	// OnStep, when set, is called after each stage of Start and after each
	// component Stop ends.
	OnStep func(Step)
	Logger *slog.Logger
}

func (c *Config) defaults() error {
	if c.Layout.Dir == "" {
		return errors.New("controlplane: no data dir")
	}
	if net.ParseIP(c.Address) == nil {
		return fmt.Errorf("controlplane: address %q is not an IP", c.Address)
	}
	if c.APIPort <= 0 || c.APIPort > 65535 {
		return fmt.Errorf("controlplane: API port %d out of range", c.APIPort)
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	if c.OnStep == nil {
		c.OnStep = func(Step) {}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// component is a running embedded component.
type component struct {
	name   string
	cancel context.CancelFunc
	done   chan error
}

// ControlPlane is a running embedded control plane.
type ControlPlane struct {
	cfg        Config
	server     string
	restConfig *rest.Config
	etcd       *embed.Etcd
	components []*component // in start order
	errc       chan error
}

// Start brings up etcd, kube-apiserver and kube-controller-manager, in that
// order, each once the previous is ready. It returns when the apiserver is
// ready and the controller manager works (the default service account
// exists). On error everything started is stopped again.
func Start(ctx context.Context, cfg Config) (_ *ControlPlane, err error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	cp := &ControlPlane{cfg: cfg, errc: make(chan error, 3)}
	defer func() {
		if err != nil {
			cp.Stop(context.Background())
		}
	}()
	l := cfg.Layout

	advertise := cfg.Address
	if net.ParseIP(advertise).IsUnspecified() {
		advertise = "127.0.0.1"
	}
	cp.server = "https://" + net.JoinHostPort(advertise, strconv.Itoa(cfg.APIPort))

	began := time.Now()
	paths, generated, err := pki.Ensure(pki.Config{Dir: l.PKI(), Hosts: []string{advertise}})
	if err != nil {
		return nil, err
	}
	if err := writeKubeconfig(l.Kubeconfig(), cp.server, paths, pki.AdminName); err != nil {
		return nil, err
	}
	if err := writeKubeconfig(l.ControllerManagerKubeconfig(), cp.server, paths, pki.ControllerManagerName); err != nil {
		return nil, err
	}
	detail := "reused from " + l.PKI()
	if generated {
		detail = "generated in " + l.PKI()
	}
	cfg.OnStep(Step{Component: "certificates", Detail: detail, Took: time.Since(began)})

	began = time.Now()
	e, etcdURL, err := startEtcd(l.Etcd(), l.Logs())
	if err != nil {
		return nil, err
	}
	cp.etcd = e
	cfg.OnStep(Step{Component: "etcd", Detail: "data in " + l.Etcd(), Took: time.Since(began)})

	cp.restConfig, err = clientcmd.BuildConfigFromFlags("", l.Kubeconfig())
	if err != nil {
		return nil, fmt.Errorf("admin kubeconfig: %w", err)
	}
	client, err := kubernetes.NewForConfig(cp.restConfig)
	if err != nil {
		return nil, err
	}

	began = time.Now()
	bind := cfg.Address
	run, err := newAPIServer(context.Background(), apiServerArgs(paths, etcdURL, bind, advertise, cfg.APIPort), cfg.APIListener)
	if err != nil {
		return nil, err
	}
	api := cp.launch("kube-apiserver", run)
	if err := cp.waitReady(ctx, api, func(ctx context.Context) error {
		_, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	cfg.OnStep(Step{Component: "kube-apiserver", Detail: cp.server, Took: time.Since(began)})

	began = time.Now()
	// Not ctx (here and for the apiserver): what the options build, such as
	// the event broadcaster, must outlive a signal until
	// Stop ends the controller manager (as upstream, which uses Background).
	run, err = newControllerManager(context.Background(), controllerManagerArgs(paths, l.ControllerManagerKubeconfig(), l.VolumePlugins()))
	if err != nil {
		return nil, err
	}
	kcm := cp.launch("kube-controller-manager", run)
	if err := cp.waitControllers(ctx, kcm, client); err != nil {
		return nil, err
	}
	cfg.OnStep(Step{Component: "kube-controller-manager", Detail: "controllers running", Took: time.Since(began)})
	return cp, nil
}

// waitControllers waits until the controller manager's controllers work:
// its service account controller has given a new namespace (a probe, deleted
// afterwards) its default service account. State left by an earlier run
// cannot fake this, so a restart is checked as well as a first start.
func (cp *ControlPlane) waitControllers(ctx context.Context, kcm *component, client kubernetes.Interface) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "kubemesos-ready-",
		Labels:       map[string]string{"kubemesos.io/probe": "ready"},
	}}
	var probe string
	defer func() {
		if probe != "" {
			// The namespace controller finishes the deletion in the background.
			del, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := client.CoreV1().Namespaces().Delete(del, probe, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				cp.cfg.Logger.Warn("cannot delete the readiness probe namespace", "namespace", probe, "error", err)
			}
		}
	}()
	return cp.waitReady(ctx, kcm, func(ctx context.Context) error {
		if probe == "" {
			created, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			probe = created.Name
		}
		_, err := client.CoreV1().ServiceAccounts(probe).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// launch runs a component in its own goroutine with its own context, so
// that Stop can end components one by one in reverse order.
func (cp *ControlPlane) launch(name string, run func(context.Context) error) *component {
	ctx, cancel := context.WithCancel(context.Background())
	c := &component{name: name, cancel: cancel, done: make(chan error, 1)}
	cp.components = append(cp.components, c)
	go func() {
		err := run(ctx)
		if ctx.Err() == nil {
			// It ended on its own: that is a failure even without an error.
			if err == nil {
				err = errors.New("exited")
			}
			select {
			case cp.errc <- fmt.Errorf("%s: %w", name, err):
			default:
			}
		}
		c.done <- err
		close(c.done)
	}()
	return c
}

// waitReady polls check until it succeeds, the component exits, ctx ends or
// the ready timeout passes.
func (cp *ControlPlane) waitReady(ctx context.Context, c *component, check func(context.Context) error) error {
	deadline := time.NewTimer(cp.cfg.ReadyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(attempt)
		cancel()
		if last == nil {
			return nil
		}
		if apierrors.IsForbidden(last) || apierrors.IsUnauthorized(last) {
			return fmt.Errorf("%s: %w", c.name, last)
		}
		select {
		case err := <-cp.errc:
			return err
		case <-ctx.Done():
			return fmt.Errorf("%s: not ready: %w", c.name, ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("%s: not ready after %s: %w (logs in %s)", c.name, cp.cfg.ReadyTimeout, last, cp.cfg.Layout.Logs())
		case <-tick.C:
		}
	}
}

// Server is the kube-apiserver URL.
func (cp *ControlPlane) Server() string { return cp.server }

// Kubeconfig is the admin kubeconfig file.
func (cp *ControlPlane) Kubeconfig() string { return cp.cfg.Layout.Kubeconfig() }

// RESTConfig is an admin client configuration (a copy).
func (cp *ControlPlane) RESTConfig() *rest.Config { return rest.CopyConfig(cp.restConfig) }

// Err reports a component that failed after Start returned.
func (cp *ControlPlane) Err() <-chan error { return cp.errc }

// Stop ends the components in reverse start order (controller manager,
// apiserver, then etcd), giving each StopTimeout, and reports the ones that
// did not stop cleanly.
func (cp *ControlPlane) Stop(ctx context.Context) error {
	var errs []error
	for i := len(cp.components) - 1; i >= 0; i-- {
		c := cp.components[i]
		began := time.Now()
		c.cancel()
		timeout := time.NewTimer(cp.cfg.StopTimeout)
		select {
		case err := <-c.done:
			if err != nil && !errors.Is(err, context.Canceled) {
				cp.cfg.Logger.Debug("component stopped with an error", "component", c.name, "error", err)
			}
			cp.cfg.OnStep(Step{Component: c.name, Detail: "stopped", Took: time.Since(began)})
		case <-timeout.C:
			errs = append(errs, fmt.Errorf("%s did not stop within %s", c.name, cp.cfg.StopTimeout))
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("%s: %w", c.name, ctx.Err()))
		}
		timeout.Stop()
	}
	cp.components = nil
	if cp.etcd != nil {
		began := time.Now()
		cp.etcd.Close()
		cp.etcd = nil
		cp.cfg.OnStep(Step{Component: "etcd", Detail: "stopped", Took: time.Since(began)})
	}
	return errors.Join(errs...)
}
