package up

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

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

// startMesos starts the mesos-sim master on ln and o.Agents agents of
// o.AgentMode. It mirrors `kubemesos master` with that command's defaults.
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

	mux := http.NewServeMux()
	switch o.AgentMode {
	case AgentModeSim:
		cluster := simagent.NewCluster(m, simagent.Config{Behavior: behavior.Default(), Logger: log.With("component", "simagent")})
		go cluster.Run(ctx)
		for i := range o.Agents {
			a, err := cluster.AddAgent(simagent.AgentSpec{
				Hostname:   fmt.Sprintf("sim-agent-%d", i),
				Port:       int32(5051 + i),
				Resources:  resources,
				Attributes: attributes,
			})
			if err != nil {
				cancel()
				return nil, fmt.Errorf("sim agent %d: %w", i, err)
			}
			log.Debug("simulated agent started", "agent_id", a.ID())
		}
		mux.Handle("/sim/", cluster.Handler())
	default:
		cancel()
		return nil, fmt.Errorf("--agent-mode %q is not supported", o.AgentMode)
	}
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
	return s, nil
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
