// Package local runs a whole mesos-sim cluster in this process: the master
// serving the Mesos HTTP API on a listener, and agents of one mode, either
// simulated (tasks behave as a behavior.Config declares) or process agents
// that run real executors and join the master over HTTP exactly as a
// standalone `kubemesos agent` does. `kubemesos master` and `kubemesos up`
// both start their Mesos through it.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	procagent "github.com/kubemesos/kubemesos/mesos-sim/agent"
	"github.com/kubemesos/kubemesos/mesos-sim/behavior"
	"github.com/kubemesos/kubemesos/mesos-sim/master"
	"github.com/kubemesos/kubemesos/mesos-sim/simagent"
)

// Agent modes.
const (
	// AgentsSim: simulated agents, no processes.
	AgentsSim = "sim"
	// AgentsProcess: agents that run real executors and tasks.
	AgentsProcess = "process"
)

// DefaultAgentResources are an agent's resources unless configured
// otherwise, in Mesos' text syntax.
const DefaultAgentResources = "cpus:4;mem:8192;disk:20480;ports:[31000-32000]"

// AgentModes lists the supported agent modes.
func AgentModes() []string { return []string{AgentsSim, AgentsProcess} }

// Config describes a cluster.
type Config struct {
	// Master configures the master; its Address is set from the listener
	// (127.0.0.1 when listening on every interface) and Logger from Logger.
	Master master.Config
	// Agents is how many agents to start, of AgentMode (default AgentsSim).
	Agents    int
	AgentMode string
	// AgentResources and AgentAttributes are every agent's.
	AgentResources  mesos.Resources
	AgentAttributes []mesos.Attribute
	// AgentIsolation is the process agents' isolation (agent.Config.Isolation:
	// "auto", the default, or "none").
	AgentIsolation string
	// Behavior declares how simulated tasks behave (nil: the default).
	Behavior *behavior.Config
	// WorkDir holds process agents' work directories (WorkDir/agents/agent-N).
	WorkDir string
	Logger  *slog.Logger
}

// Cluster is a running master with its agents.
type Cluster struct {
	// Master is the running master; URL is its base URL.
	Master *master.Master
	URL    string

	cancel     context.CancelFunc
	srv        *http.Server
	errc       chan error
	agentsDone chan struct{}
}

// Start starts the master serving on ln, then its agents. The cluster runs
// until Stop (or until ctx ends, which stops the master and agents but
// leaves the HTTP server to Stop).
func Start(ctx context.Context, ln net.Listener, cfg Config) (*Cluster, error) {
	if cfg.AgentMode == "" {
		cfg.AgentMode = AgentsSim
	}
	if cfg.AgentMode != AgentsSim && cfg.AgentMode != AgentsProcess {
		return nil, fmt.Errorf("agent mode %q is not supported: use one of %v", cfg.AgentMode, AgentModes())
	}
	if cfg.AgentMode == AgentsProcess && cfg.Agents > 0 && cfg.WorkDir == "" {
		return nil, errors.New("process agents need a work directory")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	addr := ln.Addr().(*net.TCPAddr)
	advertise := addr.String()
	if addr.IP.IsUnspecified() {
		advertise = net.JoinHostPort("127.0.0.1", strconv.Itoa(addr.Port))
	}
	mcfg := cfg.Master
	mcfg.Address = advertise
	mcfg.Logger = log.With("component", "master")
	m, err := master.New(mcfg)
	if err != nil {
		return nil, fmt.Errorf("mesos-sim master: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	go m.Run(ctx)
	c := &Cluster{
		Master:     m,
		URL:        "http://" + advertise,
		cancel:     cancel,
		errc:       make(chan error, 1),
		agentsDone: make(chan struct{}),
	}

	// Serve first: process agents register over HTTP.
	mux := http.NewServeMux()
	mux.Handle("/", m.Handler())
	c.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := c.srv.Serve(ln); err != http.ErrServerClosed {
			c.errc <- fmt.Errorf("mesos-sim master: %w", err)
		}
	}()

	switch cfg.AgentMode {
	case AgentsSim:
		err = c.startSimAgents(ctx, mux, cfg, log)
		close(c.agentsDone)
	case AgentsProcess:
		err = c.startProcessAgents(ctx, cfg, mcfg, log)
	}
	if err != nil {
		stopCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_ = c.Stop(stopCtx)
		return nil, err
	}
	return c, nil
}

// startSimAgents adds cfg.Agents simulated agents, driven by one goroutine
// until ctx ends, and serves their fault-injection endpoints under /sim/.
func (c *Cluster) startSimAgents(ctx context.Context, mux *http.ServeMux, cfg Config, log *slog.Logger) error {
	b := cfg.Behavior
	if b == nil {
		b = behavior.Default()
	}
	cluster := simagent.NewCluster(c.Master, simagent.Config{Behavior: b, Logger: log.With("component", "simagent")})
	go cluster.Run(ctx)
	mux.Handle("/sim/", cluster.Handler())
	for i := range cfg.Agents {
		a, err := cluster.AddAgent(simagent.AgentSpec{
			Hostname:   fmt.Sprintf("sim-agent-%d", i),
			Port:       int32(5051 + i),
			Resources:  cfg.AgentResources,
			Attributes: cfg.AgentAttributes,
		})
		if err != nil {
			return fmt.Errorf("sim agent %d: %w", i, err)
		}
		log.Debug("simulated agent started", "agent_id", a.ID())
	}
	return nil
}

// startProcessAgents starts cfg.Agents process agents, each with its own
// endpoint on 127.0.0.1; agentsDone closes when they have all stopped.
func (c *Cluster) startProcessAgents(ctx context.Context, cfg Config, mcfg master.Config, log *slog.Logger) error {
	ping, maxPings := mcfg.AgentPingTimeout, mcfg.MaxAgentPingTimeouts
	if ping <= 0 {
		ping = master.DefaultAgentPingTimeout
	}
	if maxPings <= 0 {
		maxPings = master.DefaultMaxAgentPingTimeouts
	}
	var wg sync.WaitGroup
	defer func() { go func() { wg.Wait(); close(c.agentsDone) }() }()
	for i := range cfg.Agents {
		a, err := procagent.New(procagent.Config{
			MasterURL:  c.URL,
			Listen:     "127.0.0.1:0",
			Hostname:   fmt.Sprintf("agent-%d", i),
			Resources:  cfg.AgentResources,
			Attributes: cfg.AgentAttributes,
			WorkDir:    filepath.Join(cfg.WorkDir, "agents", fmt.Sprintf("agent-%d", i)),
			Isolation:  cfg.AgentIsolation,
			// A new port each run: executors could not find it again.
			Ephemeral: true,
			// Register again once the master would have given up on the agent.
			MasterPingTimeout: ping * time.Duration(maxPings),
			Logger:            log.With("component", "agent", "agent", i),
		})
		if err != nil {
			return fmt.Errorf("process agent %d: %w", i, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.Run(ctx); err != nil {
				log.Error("process agent stopped", "agent", i, "error", err)
			}
		}()
		log.Debug("process agent started", "endpoint", a.URL())
	}
	return nil
}

// Err reports a failure of the HTTP server.
func (c *Cluster) Err() <-chan error { return c.errc }

// Stop ends the master and the agents (waiting for process agents to stop
// their executors), then the HTTP server.
func (c *Cluster) Stop(ctx context.Context) error {
	// Ending the master first closes the long-lived event streams that
	// would otherwise hold Shutdown until its deadline.
	c.cancel()
	select {
	case <-c.agentsDone:
	case <-ctx.Done():
	}
	if err := c.srv.Shutdown(ctx); err != nil {
		c.srv.Close()
		return fmt.Errorf("mesos-sim master: %w", err)
	}
	return nil
}
