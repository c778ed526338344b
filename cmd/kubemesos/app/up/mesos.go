package up

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/kubemesos/kubemesos/mesos-sim/behavior"
	simmaster "github.com/kubemesos/kubemesos/mesos-sim/master"
	"github.com/kubemesos/kubemesos/mesos-sim/simagent"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
)

// mesosSim is the bundled Mesos master with its agents.
type mesosSim struct {
	url    string
	cancel context.CancelFunc
	srv    *http.Server
	errc   chan error
}

// startMesos starts the mesos-sim master on ln, serving, then o.Agents
// agents of o.AgentMode. It mirrors `kubemesos master` with that command's
// defaults. Another agent mode is one more case in the switch (and in
// agentModes): its agents may register over HTTP, the master is already
// serving at s.url.
func startMesos(o *Options, ln net.Listener, log *slog.Logger) (*mesosSim, error) {
	resources, err := spec.ParseResources(o.AgentResources)
	if err != nil {
		return nil, fmt.Errorf("--agent-resources: %w", err)
	}
	attributes, err := spec.ParseAttributes(o.AgentAttributes)
	if err != nil {
		return nil, fmt.Errorf("--agent-attributes: %w", err)
	}
	// Advertise a reachable address when listening on every interface.
	addr := ln.Addr().(*net.TCPAddr)
	advertise := addr.String()
	if addr.IP.IsUnspecified() {
		advertise = net.JoinHostPort("127.0.0.1", strconv.Itoa(addr.Port))
	}
	m, err := simmaster.New(simmaster.Config{
		Address: advertise,
		Logger:  log.With("component", "master"),
	})
	if err != nil {
		return nil, fmt.Errorf("mesos-sim master: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go m.Run(ctx)

	// Serve first: agents that register over HTTP need the master reachable.
	mux := http.NewServeMux()
	mux.Handle("/", m.Handler())
	s := &mesosSim{
		url:    "http://" + advertise,
		cancel: cancel,
		srv:    &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		errc:   make(chan error, 1),
	}
	go func() {
		if err := s.srv.Serve(ln); err != http.ErrServerClosed {
			s.errc <- fmt.Errorf("mesos-sim master: %w", err)
		}
	}()

	var agentErr error
	switch o.AgentMode {
	case AgentModeSim:
		agentErr = startSimAgents(ctx, m, mux, o.Agents, resources, attributes, log)
	default:
		agentErr = fmt.Errorf("--agent-mode %q is not supported", o.AgentMode)
	}
	if agentErr != nil {
		stopCtx, done := context.WithTimeout(context.Background(), stopTimeout)
		defer done()
		_ = s.Stop(stopCtx)
		return nil, agentErr
	}
	return s, nil
}

// startSimAgents adds n simulated agents to m, driven by one goroutine
// until ctx ends, and serves their control endpoints under /sim/.
func startSimAgents(ctx context.Context, m *simmaster.Master, mux *http.ServeMux, n int, res mesos.Resources, attrs []mesos.Attribute, log *slog.Logger) error {
	cluster := simagent.NewCluster(m, simagent.Config{Behavior: behavior.Default(), Logger: log.With("component", "simagent")})
	go cluster.Run(ctx)
	for i := range n {
		a, err := cluster.AddAgent(simagent.AgentSpec{
			Hostname:   fmt.Sprintf("sim-agent-%d", i),
			Port:       int32(5051 + i),
			Resources:  res,
			Attributes: attrs,
		})
		if err != nil {
			return fmt.Errorf("sim agent %d: %w", i, err)
		}
		log.Debug("simulated agent started", "agent_id", a.ID())
	}
	mux.Handle("/sim/", cluster.Handler())
	return nil
}

// Stop ends the HTTP server, the agents and the master.
func (s *mesosSim) Stop(ctx context.Context) error {
	// Ending the master first closes the long-lived event streams that
	// would otherwise hold Shutdown until its deadline.
	s.cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
		return fmt.Errorf("mesos-sim master: %w", err)
	}
	return nil
}
