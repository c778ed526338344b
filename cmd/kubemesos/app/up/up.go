// Package up implements `kubemesos up`: a whole cluster in one process. It
// starts the bundled Mesos master with its agents, then the embedded
// Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager;
// package controlplane), then any further Components, reports progress on
// the terminal, and on SIGINT or SIGTERM stops them all in reverse order.
package up

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubemesos/kubemesos/controlplane"
	"github.com/kubemesos/kubemesos/controlplane/datadir"
	"github.com/kubemesos/kubemesos/internal/logging"
)

// ReadyPrefix starts the line printed when the cluster is ready.
const ReadyPrefix = "kubemesos is ready"

// stopTimeout bounds each stage of the shutdown.
const stopTimeout = 30 * time.Second

// NewCommand returns the `up` subcommand. components are started, in order,
// once the control plane and the Mesos master are ready.
func NewCommand(ctx context.Context, components ...Component) *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a whole cluster in this process: Kubernetes control plane and Mesos master with agents",
		Long: `Run a local kubemesos cluster in one process: embedded etcd, kube-apiserver and
kube-controller-manager, and the bundled Mesos master (mesos-sim) with agents.

All state lives in --data-dir: certificates and keys, the admin kubeconfig
(<data-dir>/kubeconfig), etcd's data and the components' logs (<data-dir>/logs).
A second start with the same --data-dir keeps the cluster; --reset wipes it.
Stop with Ctrl-C (SIGINT) or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return Run(ctx, o, components, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// progress prints what a person watching the start sees.
type progress struct{ w io.Writer }

func (p progress) step(name string, took time.Duration, detail string) {
	fmt.Fprintf(p.w, "  %-24s %6.2fs  %s\n", name, took.Seconds(), detail)
}

func (p progress) printf(format string, args ...any) { fmt.Fprintf(p.w, format+"\n", args...) }

// Run starts the cluster and serves until ctx ends or a component fails.
func Run(ctx context.Context, o *Options, components []Component, stdout, stderr io.Writer) (err error) {
	began := time.Now()
	p := progress{w: stdout}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	layout := datadir.Layout{Dir: dir}
	unlock, err := layout.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	if o.Reset {
		if err := layout.Reset(); err != nil {
			return err
		}
	}
	existing := layout.Exists()
	if err := layout.Prepare(); err != nil {
		return err
	}
	state := "new cluster"
	if existing {
		state = "existing cluster; --reset starts afresh"
	} else if o.Reset {
		state = "new cluster after --reset"
	}
	p.printf("kubemesos up: data dir %s (%s)", dir, state)

	var tee io.Writer
	if o.Verbosity > 0 {
		tee = stderr
	}
	log, closeLog, err := openLog(layout, o.Verbosity, tee)
	if err != nil {
		return err
	}
	defer closeLog()
	klogCloser, err := controlplane.RouteKlog(layout.Logs(), max(2, o.Verbosity), tee)
	if err != nil {
		return err
	}
	defer klogCloser.Close()

	// Bind both ports first, so a busy one fails before anything starts.
	apiLn, err := listen(o.ListenAddress, o.APIPort, "--api-port")
	if err != nil {
		return err
	}
	defer apiLn.Close() // the apiserver owns it once started; closing twice is harmless
	mesosLn, err := listen(o.ListenAddress, o.MesosPort, "--mesos-port")
	if err != nil {
		return err
	}

	t := time.Now()
	mesos, err := startMesos(o, layout.Mesos(), mesosLn, log)
	if err != nil {
		mesosLn.Close()
		return err
	}
	p.step("mesos-sim master", time.Since(t), fmt.Sprintf("%s, %d %s agents", mesos.URL, o.Agents, o.AgentMode))
	stops := []stopper{{name: "mesos-sim master", stop: mesos.Stop}}
	defer func() {
		if stopErr := stopAll(stops, p, log); stopErr != nil && err == nil {
			err = stopErr
		}
	}()

	cp, err := controlplane.Start(ctx, controlplane.Config{
		Layout:      layout,
		Address:     o.ListenAddress,
		APIPort:     o.APIPort,
		APIListener: apiLn,
		OnStep:      func(s controlplane.Step) { p.step(s.Component, s.Took, s.Detail) },
		Logger:      log.With("component", "controlplane"),
	})
	if err != nil {
		return startFailed(ctx, p, err)
	}
	// The control plane reports each of its components' stop itself.
	stops = append(stops, stopper{name: "control plane", stop: cp.Stop, quiet: true})

	env := Env{
		DataDir:    dir,
		Kubeconfig: cp.Kubeconfig(),
		RESTConfig: cp.RESTConfig(),
		MesosURL:   mesos.URL,
	}
	if !o.Components {
		components = nil
	}
	componentErr := make(chan error, len(components))
	for _, c := range components {
		t := time.Now()
		env.Logger = log.With("component", c.Name())
		if err := c.Start(ctx, env); err != nil {
			return startFailed(ctx, p, fmt.Errorf("%s: %w", c.Name(), err))
		}
		stops = append(stops, stopper{name: c.Name(), stop: c.Stop})
		p.step(c.Name(), time.Since(t), "ready")
		go func(c Component) {
			if err, ok := <-c.Err(); ok && err != nil {
				componentErr <- fmt.Errorf("%s: %w", c.Name(), err)
			}
		}(c)
	}

	p.printf("%s (%.1fs): Kubernetes API %s, Mesos master %s. Stop with Ctrl-C.", ReadyPrefix, time.Since(began).Seconds(), cp.Server(), mesos.URL)
	p.printf("export KUBECONFIG=%s", cp.Kubeconfig())
	log.Info("ready", "took", time.Since(began))

	select {
	case <-ctx.Done():
		p.printf("kubemesos: shutting down (Ctrl-C again to exit at once)")
		forceExitOnSignal(p)
		return nil
	case err := <-cp.Err():
		return err
	case err := <-mesos.Err():
		return err
	case err := <-componentErr:
		return err
	}
}

// forceExitOnSignal exits the process at once on the next SIGINT or
// SIGTERM, for a shutdown that hangs.
func forceExitOnSignal(p progress) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		p.printf("kubemesos: second signal, exiting without a clean shutdown")
		os.Exit(1)
	}()
}

// startFailed turns an error during start into the command's result: none
// when the start was interrupted by a signal.
func startFailed(ctx context.Context, p progress, err error) error {
	if ctx.Err() != nil {
		p.printf("kubemesos: interrupted while starting, shutting down")
		return nil
	}
	return err
}

type stopper struct {
	name  string
	stop  func(context.Context) error
	quiet bool // it prints its own progress
}

// stopAll stops in reverse start order.
func stopAll(stops []stopper, p progress, log *slog.Logger) error {
	var errs []error
	for i := len(stops) - 1; i >= 0; i-- {
		s := stops[i]
		t := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		err := s.stop(ctx)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", s.name, err))
			continue
		}
		log.Info("stopped", "what", s.name, "took", time.Since(t))
		if !s.quiet {
			p.step(s.name, time.Since(t), "stopped")
		}
	}
	return errors.Join(errs...)
}

// listen binds addr:port, explaining a busy port.
func listen(addr string, port int, flag string) (net.Listener, error) {
	hostPort := net.JoinHostPort(addr, strconv.Itoa(port))
	ln, err := net.Listen("tcp", hostPort)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("port %d on %s is already in use (is another kubemesos running?): choose another with %s", port, addr, flag)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (%s): %w", hostPort, flag, err)
	}
	return ln, nil
}

// openLog returns kubemesos' own logger, writing to <logs>/kubemesos.log
// and also to tee (the terminal with -v) when it is not nil.
func openLog(l datadir.Layout, verbosity int, tee io.Writer) (*slog.Logger, func(), error) {
	f, err := os.OpenFile(filepath.Join(l.Logs(), "kubemesos.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	var w io.Writer = f
	if tee != nil {
		w = io.MultiWriter(f, tee)
	}
	level := "info"
	if verbosity > 0 {
		level = "debug"
	}
	log, err := logging.New(w, level)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return log, func() { f.Close() }, nil
}
