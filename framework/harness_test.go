package framework

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/kubemesos/kubemesos/mesos-sim/local"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
)

// startMesosSim runs a mesos-sim master with agents simulated agents of the
// default resources, stopped when the test ends.
func startMesosSim(ctx context.Context, t *testing.T, agents int) *local.Cluster {
	t.Helper()
	res, err := spec.ParseResources(local.DefaultAgentResources)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := local.Start(ctx, ln, local.Config{Agents: agents, AgentMode: local.AgentsSim, AgentResources: res})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		_ = cluster.Stop(stopCtx)
	})
	return cluster
}

// taskStates reads every task of the master at base, live or completed,
// as task ID to state.
func taskStates(t *testing.T, base string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, fw := range readState(t, base).Frameworks {
		for _, tk := range fw.CompletedTasks {
			out[tk.ID] = tk.State
		}
		for _, tk := range fw.Tasks {
			out[tk.ID] = tk.State
		}
	}
	return out
}
