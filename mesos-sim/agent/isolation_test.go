package agent_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"

	memcg "github.com/kubemesos/kubemesos/internal/cgroup"
	"github.com/kubemesos/kubemesos/mesos-sim/agent"
)

// needMemcg skips a test when this machine has no writable memory cgroup
// controller (checked by creating a cgroup): it is a precondition of memory
// isolation, which the agent then reports as "none".
func needMemcg(t *testing.T) *memcg.Controller {
	t.Helper()
	c, err := memcg.Detect("")
	if err != nil {
		t.Skipf("memory isolation needs a writable memory cgroup controller: %v", err)
	}
	return c
}

func isolationOf(t *testing.T, a *agent.Agent) string {
	t.Helper()
	code, _, body := get(t, a.URL()+"/state")
	var state struct{ Isolation string }
	if err := json.Unmarshal([]byte(body), &state); code != http.StatusOK || err != nil {
		t.Fatalf("/state: %d %v %s", code, err, body)
	}
	return state.Isolation
}

func TestMemoryLimitEndsTask(t *testing.T) {
	c := needMemcg(t)
	env := start(t, 1, nil)
	a := env.agents[0]
	if got := isolationOf(t, a); got != agent.IsolationMemory {
		t.Fatalf("/state isolation %q, want %q", got, agent.IsolationMemory)
	}
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	// tail keeps the one endless line in memory: far more than 32 MB.
	task := shellTask("hog", offer, "head -c 300m /dev/zero | tail")
	task.Resources = []mesos.Resource{resources.NewCPUs(0.5).Resource, resources.NewMemory(32).Resource}
	launch(t, s, offer, task)
	states, last := awaitTerminal(t, s, "hog")
	if last.GetState() != mesos.TASK_FAILED || last.GetReason() != mesos.REASON_CONTAINER_LIMITATION_MEMORY || last.GetSource() != mesos.SOURCE_AGENT {
		t.Fatalf("states %v, last %v %v %v %q: want TASK_FAILED, REASON_CONTAINER_LIMITATION_MEMORY from the agent",
			states, last.GetState(), last.GetReason(), last.GetSource(), last.GetMessage())
	}
	if !strings.HasPrefix(last.GetMessage(), "Memory limit exceeded: Requested: 32MB") {
		t.Errorf("message %q", last.GetMessage())
	}
	// The container's cgroup goes with it.
	parent := filepath.Join(c.Dir(), "kubemesos-agent-"+a.ID())
	eventually(t, "the container's cgroup removed", func() bool {
		entries, err := os.ReadDir(parent)
		if errors.Is(err, fs.ErrNotExist) {
			return true
		}
		for _, e := range entries {
			if e.IsDir() {
				return false
			}
		}
		return true
	})
}

func TestTaskWithinMemoryLimitRuns(t *testing.T) {
	needMemcg(t)
	env := start(t, 1, nil)
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	// 8 MB through a pipe, then where the task runs.
	launch(t, s, offer, shellTask("fits", offer, "head -c 8m /dev/zero | tail -c 1 >/dev/null && cat /proc/self/cgroup"))
	if _, last := awaitTerminal(t, s, "fits"); last.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("task within its limit: %v %v %q", last.GetState(), last.GetReason(), last.GetMessage())
	}
	out := readFile(t, env.agents[0], env.sandbox(0, s.FrameworkID(), "fits")+"/stdout")
	if !strings.Contains(out, "/kubemesos-agent-"+env.agents[0].ID()+"/") {
		t.Errorf("the task did not run in the agent's memory cgroup: %s", out)
	}
}

func TestIsolationNone(t *testing.T) {
	env := start(t, 1, func(c *agent.Config) { c.Isolation = agent.IsolationNone })
	if got := isolationOf(t, env.agents[0]); got != agent.IsolationNone {
		t.Fatalf("/state isolation %q, want none", got)
	}
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	launch(t, s, offer, shellTask("free", offer, "cat /proc/self/cgroup"))
	if _, last := awaitTerminal(t, s, "free"); last.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("task: %v %q", last.GetState(), last.GetMessage())
	}
	if out := readFile(t, env.agents[0], env.sandbox(0, s.FrameworkID(), "free")+"/stdout"); strings.Contains(out, "kubemesos-agent-") {
		t.Errorf("isolation none, yet the task ran in an agent cgroup: %s", out)
	}
}
