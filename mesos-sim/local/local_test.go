package local_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kubemesos/kubemesos/mesos-sim/local"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
)

// TestAgentsRegister starts a cluster in each agent mode and waits until
// the master's /master/slaves lists every agent with its endpoint.
func TestAgentsRegister(t *testing.T) {
	res, err := spec.ParseResources("cpus:2;mem:1024")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range local.AgentModes() {
		t.Run(mode, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			c, err := local.Start(context.Background(), ln, local.Config{
				Agents: 2, AgentMode: mode, AgentResources: res, WorkDir: t.TempDir(),
			})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
				defer done()
				if err := c.Stop(ctx); err != nil {
					t.Errorf("stop: %v", err)
				}
			}()
			deadline := time.Now().Add(30 * time.Second)
			for {
				var state struct {
					Slaves []struct {
						ID  string `json:"id"`
						PID string `json:"pid"`
					} `json:"slaves"`
				}
				if resp, err := http.Get(c.URL + "/master/slaves"); err == nil {
					err = json.NewDecoder(resp.Body).Decode(&state)
					resp.Body.Close()
					if err == nil && len(state.Slaves) == 2 && strings.Contains(state.Slaves[0].PID, "@") {
						return
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s agents did not register: %+v", mode, state)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

func TestUnknownAgentMode(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := local.Start(context.Background(), ln, local.Config{AgentMode: "docker"}); err == nil || !strings.Contains(err.Error(), "docker") {
		t.Fatalf("want an error naming the unsupported mode, got %v", err)
	}
}
