// Package master implements `kubemesos master`: the bundled mesos-sim
// master, optionally with simulated agents inside it.
package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubemesos/kubemesos/internal/logging"
	"github.com/kubemesos/kubemesos/mesos-sim/behavior"
	"github.com/kubemesos/kubemesos/mesos-sim/local"
	simmaster "github.com/kubemesos/kubemesos/mesos-sim/master"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
)

// Options are the flags of `kubemesos master`.
type Options struct {
	Listen               string
	WorkDir              string
	Agents               int
	AgentMode            string
	AgentResources       string
	AgentAttributes      string
	AllocationInterval   time.Duration
	OfferTimeout         time.Duration
	HeartbeatInterval    time.Duration
	AgentPingTimeout     time.Duration
	MaxAgentPingTimeouts int
	Weights              string
	SimConfig            string
	Credentials          string
	LogLevel             string
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		Listen:               "127.0.0.1:5050",
		WorkDir:              filepath.Join(os.TempDir(), "kubemesos-master"),
		AgentMode:            "sim",
		AgentResources:       local.DefaultAgentResources,
		AllocationInterval:   simmaster.DefaultAllocationInterval,
		HeartbeatInterval:    simmaster.DefaultHeartbeatInterval,
		AgentPingTimeout:     simmaster.DefaultAgentPingTimeout,
		MaxAgentPingTimeouts: simmaster.DefaultMaxAgentPingTimeouts,
		LogLevel:             "info",
	}
}

// AddFlags binds the options to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Listen, "listen", o.Listen, "address (host:port) to serve the Mesos HTTP API on")
	fs.StringVar(&o.WorkDir, "work-dir", o.WorkDir, "directory for the master's files (master.json: how to reach it)")
	fs.IntVar(&o.Agents, "agents", o.Agents, "number of agents to start inside the master")
	fs.StringVar(&o.AgentMode, "agent-mode", o.AgentMode, "how in-master agents run tasks: sim (simulated, no processes) or process (real processes, each agent on its own 127.0.0.1 port, sandboxes under --work-dir/agents)")
	fs.StringVar(&o.AgentResources, "agent-resources", o.AgentResources, "resources of each agent, in Mesos syntax")
	fs.StringVar(&o.AgentAttributes, "agent-attributes", o.AgentAttributes, "attributes of each agent, in Mesos syntax (rack:r1;zone:a)")
	fs.DurationVar(&o.AllocationInterval, "allocation-interval", o.AllocationInterval, "period of batch allocations")
	fs.DurationVar(&o.OfferTimeout, "offer-timeout", o.OfferTimeout, "rescind offers outstanding this long (0: never)")
	fs.DurationVar(&o.HeartbeatInterval, "heartbeat-interval", o.HeartbeatInterval, "interval of HEARTBEAT events on scheduler streams")
	fs.DurationVar(&o.AgentPingTimeout, "agent-ping-timeout", o.AgentPingTimeout, "interval of agent health checks")
	fs.IntVar(&o.MaxAgentPingTimeouts, "max-agent-ping-timeouts", o.MaxAgentPingTimeouts, "missed health checks after which an agent is unreachable")
	fs.StringVar(&o.Weights, "weights", o.Weights, "role weights (role=weight,...)")
	fs.StringVar(&o.SimConfig, "sim-config", o.SimConfig, "file declaring how simulated tasks behave (YAML or JSON)")
	fs.StringVar(&o.Credentials, "credentials", o.Credentials, "file of framework credentials; enables HTTP authentication of frameworks")
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "log level: debug, info, warn or error")
}

// Validate checks the options.
func (o *Options) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(o.Listen); err != nil {
		errs = append(errs, fmt.Errorf("--listen %q: %w", o.Listen, err))
	}
	if o.Agents < 0 {
		errs = append(errs, errors.New("--agents must not be negative"))
	}
	if !slices.Contains(local.AgentModes(), o.AgentMode) {
		errs = append(errs, fmt.Errorf("--agent-mode %q is not supported: use one of %v", o.AgentMode, local.AgentModes()))
	}
	if o.AllocationInterval <= 0 {
		errs = append(errs, errors.New("--allocation-interval must be positive"))
	}
	if o.OfferTimeout < 0 {
		errs = append(errs, errors.New("--offer-timeout must not be negative"))
	}
	if o.HeartbeatInterval <= 0 || o.AgentPingTimeout <= 0 || o.MaxAgentPingTimeouts <= 0 {
		errs = append(errs, errors.New("--heartbeat-interval, --agent-ping-timeout and --max-agent-ping-timeouts must be positive"))
	}
	return errors.Join(errs...)
}

// NewCommand returns the `master` subcommand.
func NewCommand(ctx context.Context) *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "master",
		Short: "Run mesos-sim, a Mesos-compatible master (with simulated agents)",
		Long: `Run mesos-sim: a master that speaks the Apache Mesos v1 HTTP API (scheduler and
operator APIs), with a weighted-DRF allocator and, with --agents, simulated
agents whose tasks behave as --sim-config declares, or with --agent-mode
process, agents that run real executors and tasks (see kubemesos agent).`,
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

// Run starts the master and serves until ctx ends.
func Run(ctx context.Context, o *Options, logOut interface{ Write([]byte) (int, error) }) error {
	log, err := logging.New(logOut, o.LogLevel)
	if err != nil {
		return err
	}
	resources, err := spec.ParseResources(o.AgentResources)
	if err != nil {
		return fmt.Errorf("--agent-resources: %w", err)
	}
	attributes, err := spec.ParseAttributes(o.AgentAttributes)
	if err != nil {
		return fmt.Errorf("--agent-attributes: %w", err)
	}
	weights, err := spec.ParseWeights(o.Weights)
	if err != nil {
		return fmt.Errorf("--weights: %w", err)
	}
	var creds map[string]string
	if o.Credentials != "" {
		if creds, err = LoadCredentials(o.Credentials); err != nil {
			return err
		}
	}
	simBehavior := behavior.Default()
	if o.SimConfig != "" {
		if simBehavior, err = behavior.Load(o.SimConfig); err != nil {
			return fmt.Errorf("--sim-config: %w", err)
		}
	}
	if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return fmt.Errorf("--work-dir: %w", err)
	}

	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", o.Listen, err)
	}
	cluster, err := local.Start(ctx, ln, local.Config{
		Master: simmaster.Config{
			AllocationInterval:   o.AllocationInterval,
			OfferTimeout:         o.OfferTimeout,
			HeartbeatInterval:    o.HeartbeatInterval,
			AgentPingTimeout:     o.AgentPingTimeout,
			MaxAgentPingTimeouts: o.MaxAgentPingTimeouts,
			Weights:              weights,
			Credentials:          creds,
		},
		Agents:          o.Agents,
		AgentMode:       o.AgentMode,
		AgentResources:  resources,
		AgentAttributes: attributes,
		Behavior:        simBehavior,
		WorkDir:         o.WorkDir,
		Logger:          log,
	})
	if err != nil {
		ln.Close()
		return err
	}
	stop := func() {
		shutdownCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_ = cluster.Stop(shutdownCtx)
	}
	if err := writeMasterFile(o.WorkDir, cluster.Master, cluster.URL); err != nil {
		stop()
		return err
	}
	log.Info("mesos-sim master is serving", "address", cluster.URL, "master_id", cluster.Master.Info().ID,
		"agents", o.Agents, "agent_mode", o.AgentMode)
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		stop()
		return nil
	case err := <-cluster.Err():
		stop()
		return fmt.Errorf("http server: %w", err)
	}
}

func writeMasterFile(dir string, m *simmaster.Master, url string) error {
	b, err := json.MarshalIndent(map[string]string{"id": m.Info().ID, "url": url}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "master.json"), append(b, '\n'), 0o644)
}

// LoadCredentials reads a Mesos credentials file: JSON
// {"credentials":[{"principal":"p","secret":"s"}]} or lines "principal secret".
func LoadCredentials(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--credentials: %w", err)
	}
	creds := map[string]string{}
	if text := strings.TrimSpace(string(b)); strings.HasPrefix(text, "{") {
		var doc struct {
			Credentials []struct {
				Principal string `json:"principal"`
				Secret    string `json:"secret"`
			} `json:"credentials"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("--credentials %s: %w", path, err)
		}
		for _, c := range doc.Credentials {
			if c.Principal == "" {
				return nil, fmt.Errorf("--credentials %s: a credential has no principal", path)
			}
			creds[c.Principal] = c.Secret
		}
	} else {
		for i, line := range strings.Split(text, "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
				continue
			}
			if len(fields) != 2 {
				return nil, fmt.Errorf("--credentials %s line %d: want 'principal secret'", path, i+1)
			}
			creds[fields[0]] = fields[1]
		}
	}
	if len(creds) == 0 {
		return nil, fmt.Errorf("--credentials %s: no credentials", path)
	}
	return creds, nil
}
