// Package agent implements `kubemesos agent`: a process agent
// (mesos-sim/agent) that joins a mesos-sim master over the network and runs
// real executors and command tasks.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubemesos/kubemesos/internal/logging"
	simagent "github.com/kubemesos/kubemesos/mesos-sim/agent"
	"github.com/kubemesos/kubemesos/mesos-sim/local"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
)

// Options are the flags of `kubemesos agent`.
type Options struct {
	Master                      string
	Listen                      string
	Hostname                    string
	Resources                   string
	Attributes                  string
	WorkDir                     string
	ExecutorRegistrationTimeout time.Duration
	ExecutorShutdownGracePeriod time.Duration
	MasterPingTimeout           time.Duration
	// RecoveryTimeout and ExecutorReregistrationTimeout: see
	// simagent.Config.
	RecoveryTimeout               time.Duration
	ExecutorReregistrationTimeout time.Duration
	LogLevel                      string
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		Master:                        "http://127.0.0.1:5050",
		Listen:                        "127.0.0.1:5051",
		Resources:                     local.DefaultAgentResources,
		WorkDir:                       filepath.Join(os.TempDir(), "kubemesos-agent"),
		ExecutorRegistrationTimeout:   simagent.DefaultExecutorRegistrationTimeout,
		ExecutorShutdownGracePeriod:   simagent.DefaultExecutorShutdownGracePeriod,
		MasterPingTimeout:             simagent.DefaultMasterPingTimeout,
		RecoveryTimeout:               simagent.DefaultRecoveryTimeout,
		ExecutorReregistrationTimeout: simagent.DefaultExecutorReregisterTimeout,
		LogLevel:                      "info",
	}
}

// AddFlags binds the options to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Master, "master", o.Master, "URL of the mesos-sim master to join")
	fs.StringVar(&o.Listen, "listen", o.Listen, "loopback address (host:port) of the agent's own HTTP endpoint (port 0: any free port)")
	fs.StringVar(&o.Hostname, "hostname", o.Hostname, "hostname the agent reports (default: the host of --listen)")
	fs.StringVar(&o.Resources, "resources", o.Resources, "resources of the agent, in Mesos syntax")
	fs.StringVar(&o.Attributes, "attributes", o.Attributes, "attributes of the agent, in Mesos syntax (rack:r1;zone:a)")
	fs.StringVar(&o.WorkDir, "work-dir", o.WorkDir, "directory of the sandboxes")
	fs.DurationVar(&o.ExecutorRegistrationTimeout, "executor-registration-timeout", o.ExecutorRegistrationTimeout, "time an executor has to subscribe before it is killed")
	fs.DurationVar(&o.ExecutorShutdownGracePeriod, "executor-shutdown-grace-period", o.ExecutorShutdownGracePeriod, "default time an executor has to exit after SHUTDOWN")
	fs.DurationVar(&o.MasterPingTimeout, "master-ping-timeout", o.MasterPingTimeout, "register again when the master has not pinged the agent for this long")
	fs.DurationVar(&o.RecoveryTimeout, "recovery-timeout", o.RecoveryTimeout, "how long checkpointing executors try to reach a restarted agent (MESOS_RECOVERY_TIMEOUT)")
	fs.DurationVar(&o.ExecutorReregistrationTimeout, "executor-reregistration-timeout", o.ExecutorReregistrationTimeout, "how long a restarted agent waits for its recovered executors to subscribe again (at most 15s)")
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "log level: debug, info, warn or error")
}

// Validate checks the options.
func (o *Options) Validate() error {
	var errs []error
	if u, err := url.Parse(o.Master); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("--master %q: want http://host:port", o.Master))
	}
	if host, _, err := net.SplitHostPort(o.Listen); err != nil {
		errs = append(errs, fmt.Errorf("--listen %q: %w", o.Listen, err))
	} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		errs = append(errs, fmt.Errorf("--listen %q: the agent serves on loopback addresses only", o.Listen))
	}
	if o.WorkDir == "" {
		errs = append(errs, errors.New("--work-dir must be set"))
	}
	if o.ExecutorRegistrationTimeout <= 0 || o.ExecutorShutdownGracePeriod <= 0 || o.MasterPingTimeout <= 0 || o.RecoveryTimeout <= 0 {
		errs = append(errs, errors.New("--executor-registration-timeout, --executor-shutdown-grace-period, --master-ping-timeout and --recovery-timeout must be positive"))
	}
	if o.ExecutorReregistrationTimeout <= 0 || o.ExecutorReregistrationTimeout > simagent.MaxExecutorReregisterTimeout {
		errs = append(errs, fmt.Errorf("--executor-reregistration-timeout %v: want more than 0 and at most %v", o.ExecutorReregistrationTimeout, simagent.MaxExecutorReregisterTimeout))
	}
	return errors.Join(errs...)
}

// NewCommand returns the `agent` subcommand.
func NewCommand(ctx context.Context) *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a mesos-sim process agent that joins a master and runs real executors",
		Long: `Run a mesos-sim process agent: it registers with the master given by --master,
serves the Mesos executor API and the sandbox files API on its own endpoint
(--listen), and runs command tasks and custom executors as child processes
in sandboxes under --work-dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return Run(ctx, o, cmd.ErrOrStderr())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// Run starts the agent and runs it until ctx ends or the master marks it
// gone.
func Run(ctx context.Context, o *Options, logOut io.Writer) error {
	log, err := logging.New(logOut, o.LogLevel)
	if err != nil {
		return err
	}
	res, err := spec.ParseResources(o.Resources)
	if err != nil {
		return fmt.Errorf("--resources: %w", err)
	}
	attrs, err := spec.ParseAttributes(o.Attributes)
	if err != nil {
		return fmt.Errorf("--attributes: %w", err)
	}
	if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return fmt.Errorf("--work-dir: %w", err)
	}
	a, err := simagent.New(simagent.Config{
		MasterURL:                     o.Master,
		Listen:                        o.Listen,
		Hostname:                      o.Hostname,
		Resources:                     res,
		Attributes:                    attrs,
		WorkDir:                       o.WorkDir,
		ExecutorRegistrationTimeout:   o.ExecutorRegistrationTimeout,
		ExecutorShutdownGracePeriod:   o.ExecutorShutdownGracePeriod,
		MasterPingTimeout:             o.MasterPingTimeout,
		RecoveryTimeout:               o.RecoveryTimeout,
		ExecutorReregistrationTimeout: o.ExecutorReregistrationTimeout,
		Logger:                        log.With("component", "agent"),
	})
	if err != nil {
		return err
	}
	log.Info("agent is serving", "endpoint", a.URL(), "master", o.Master, "work_dir", o.WorkDir)
	return a.Run(ctx)
}
