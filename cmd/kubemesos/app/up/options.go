package up

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"github.com/kubemesos/kubemesos/mesos-sim/local"
	simmaster "github.com/kubemesos/kubemesos/mesos-sim/master"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
)

// Options are the flags of `kubemesos up`.
type Options struct {
	DataDir         string
	Reset           bool
	Agents          int
	AgentMode       string
	AgentResources  string
	AgentAttributes string
	APIPort         int
	MesosPort       int
	ListenAddress   string
	Verbosity       int
	// AgentPingTimeout and MaxAgentPingTimeouts: the master pings each agent
	// this often and marks it unreachable after that many missed pings.
	AgentPingTimeout     time.Duration
	MaxAgentPingTimeouts int
	// Components runs the components given to up (the kubemesos framework);
	// false leaves them to be run as their own processes.
	Components bool
}

// DefaultDataDir is $HOME/.kubemesos (or ./.kubemesos without a home).
func DefaultDataDir() string {
	if dir := os.Getenv("KUBEMESOS_DATA_DIR"); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".kubemesos"
	}
	return filepath.Join(home, ".kubemesos")
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		DataDir:        DefaultDataDir(),
		Agents:         2,
		AgentMode:      local.AgentsProcess,
		AgentResources: local.DefaultAgentResources,
		APIPort:        6443,
		MesosPort:      5050,
		ListenAddress:  "127.0.0.1",
		Components:     true,

		AgentPingTimeout:     simmaster.DefaultAgentPingTimeout,
		MaxAgentPingTimeouts: simmaster.DefaultMaxAgentPingTimeouts,
	}
}

// AddFlags binds the options to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "directory for all cluster state: certificates, kubeconfig, etcd data, logs (env KUBEMESOS_DATA_DIR)")
	fs.BoolVar(&o.Reset, "reset", o.Reset, "delete the cluster state in --data-dir first and start a new cluster")
	fs.IntVar(&o.Agents, "agents", o.Agents, "number of Mesos agents to start")
	fs.StringVar(&o.AgentMode, "agent-mode", o.AgentMode, "how agents run tasks: process (real executors and tasks, sandboxes under <data-dir>/mesos) or sim (simulated, no processes)")
	fs.StringVar(&o.AgentResources, "agent-resources", o.AgentResources, "resources of each agent, in Mesos syntax")
	fs.StringVar(&o.AgentAttributes, "agent-attributes", o.AgentAttributes, "attributes of each agent, in Mesos syntax (rack:r1;zone:a)")
	fs.DurationVar(&o.AgentPingTimeout, "agent-ping-timeout", o.AgentPingTimeout, "interval of the Mesos master's agent health checks")
	fs.IntVar(&o.MaxAgentPingTimeouts, "max-agent-ping-timeouts", o.MaxAgentPingTimeouts, "missed health checks after which the Mesos master marks an agent unreachable")
	fs.IntVar(&o.APIPort, "api-port", o.APIPort, "port of the Kubernetes API server")
	fs.IntVar(&o.MesosPort, "mesos-port", o.MesosPort, "port of the Mesos master")
	fs.StringVar(&o.ListenAddress, "listen-address", o.ListenAddress, "IP address to serve the Kubernetes API and the Mesos master on")
	fs.BoolVar(&o.Components, "framework", o.Components, "run the kubemesos framework and its kube-scheduler in this process (false: run `kubemesos framework` yourself against this cluster)")
	fs.CountVarP(&o.Verbosity, "verbose", "v", "show component logs on the terminal; -v=N (N>2) also raises their verbosity")
}

// Validate checks the options.
func (o *Options) Validate() error {
	var errs []error
	if o.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	}
	if o.Agents < 0 {
		errs = append(errs, errors.New("--agents must not be negative"))
	}
	if o.AgentPingTimeout <= 0 || o.MaxAgentPingTimeouts <= 0 {
		errs = append(errs, errors.New("--agent-ping-timeout and --max-agent-ping-timeouts must be positive"))
	}
	if !slices.Contains(local.AgentModes(), o.AgentMode) {
		errs = append(errs, fmt.Errorf("--agent-mode %q is not supported: use one of %v", o.AgentMode, local.AgentModes()))
	}
	if _, err := spec.ParseResources(o.AgentResources); err != nil {
		errs = append(errs, fmt.Errorf("--agent-resources: %w", err))
	}
	if _, err := spec.ParseAttributes(o.AgentAttributes); err != nil {
		errs = append(errs, fmt.Errorf("--agent-attributes: %w", err))
	}
	for name, port := range map[string]int{"--api-port": o.APIPort, "--mesos-port": o.MesosPort} {
		if port <= 0 || port > 65535 {
			errs = append(errs, fmt.Errorf("%s %d is not a port", name, port))
		}
	}
	if o.APIPort == o.MesosPort {
		errs = append(errs, errors.New("--api-port and --mesos-port must differ"))
	}
	if net.ParseIP(o.ListenAddress) == nil {
		errs = append(errs, fmt.Errorf("--listen-address %q is not an IP address", o.ListenAddress))
	}
	return errors.Join(errs...)
}
