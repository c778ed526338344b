package up

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/kubemesos/kubemesos/mesos-sim/local"
	"github.com/kubemesos/kubemesos/mesos-sim/master"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
)

// startMesos starts the bundled Mesos on ln: the mesos-sim master with
// o.Agents agents of o.AgentMode (process agents keep their sandboxes under
// workDir) and o's agent health checks, as `kubemesos master` does with its
// defaults.
func startMesos(o *Options, workDir string, ln net.Listener, log *slog.Logger) (*local.Cluster, error) {
	resources, err := spec.ParseResources(o.AgentResources)
	if err != nil {
		return nil, fmt.Errorf("--agent-resources: %w", err)
	}
	attributes, err := spec.ParseAttributes(o.AgentAttributes)
	if err != nil {
		return nil, fmt.Errorf("--agent-attributes: %w", err)
	}
	return local.Start(context.Background(), ln, local.Config{
		Master: master.Config{
			AgentPingTimeout:     o.AgentPingTimeout,
			MaxAgentPingTimeouts: o.MaxAgentPingTimeouts,
		},
		Agents:          o.Agents,
		AgentMode:       o.AgentMode,
		AgentResources:  resources,
		AgentAttributes: attributes,
		WorkDir:         workDir,
		Logger:          log,
	})
}
