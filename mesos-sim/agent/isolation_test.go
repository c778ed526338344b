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
	"time"

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

// TestMemoryLimitEndsRunningContainer: the kernel OOM-kills a child of a
// shell task whose shell lives on; the agent sees the breach while the
// container runs, ends it and fails the task with the memory limitation
// (the shell alone would sleep for ten minutes).
func TestMemoryLimitEndsRunningContainer(t *testing.T) {
	needMemcg(t)
	env := start(t, 1, nil)
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	task := shellTask("survivor", offer, "head -c 300m /dev/zero | tail; echo the shell survived; exec sleep 600")
	task.Resources = []mesos.Resource{resources.NewCPUs(0.5).Resource, resources.NewMemory(32).Resource}
	launch(t, s, offer, task)
	states, last := awaitTerminal(t, s, "survivor")
	if last.GetState() != mesos.TASK_FAILED || last.GetReason() != mesos.REASON_CONTAINER_LIMITATION_MEMORY || last.GetSource() != mesos.SOURCE_AGENT {
		t.Fatalf("states %v, last %v %v %v %q: want TASK_FAILED, REASON_CONTAINER_LIMITATION_MEMORY from the agent",
			states, last.GetState(), last.GetReason(), last.GetSource(), last.GetMessage())
	}
	if !strings.HasPrefix(last.GetMessage(), "Memory limit exceeded: Requested: 32MB Maximum Used: ") {
		t.Errorf("message %q", last.GetMessage())
	}
}

// TestMemoryLimitEndsTaskGroup: a task group on the DEFAULT executor
// shares one container; the kernel OOM-kills a child of one task's shell,
// and the agent ends the container: every task of it fails with the
// memory limitation, the bystander too.
func TestMemoryLimitEndsTaskGroup(t *testing.T) {
	needMemcg(t)
	env := start(t, 1, nil)
	s := subscribe(t, env)
	exec := &mesos.ExecutorInfo{
		Type:       mesos.ExecutorInfo_DEFAULT,
		ExecutorID: mesos.ExecutorID{Value: "group"},
		Resources:  []mesos.Resource{resources.NewCPUs(0.1).Resource, resources.NewMemory(32).Resource},
	}
	offer := firstOffer(t, s)
	launchGroup(t, s, offer, exec,
		shellTask("hog", offer, "head -c 600m /dev/zero | tail; exec sleep 1000"),
		shellTask("bystander", offer, "exec sleep 1000"))
	for _, id := range []string{"hog", "bystander"} {
		states, last := awaitTerminal(t, s, id)
		if last.GetState() != mesos.TASK_FAILED || last.GetReason() != mesos.REASON_CONTAINER_LIMITATION_MEMORY {
			t.Errorf("%s: states %v, last %v %v %q: want TASK_FAILED, REASON_CONTAINER_LIMITATION_MEMORY",
				id, states, last.GetState(), last.GetReason(), last.GetMessage())
		}
		// Executor 32 MB and two tasks of 64 MB.
		if !strings.HasPrefix(last.GetMessage(), "Memory limit exceeded: Requested: 160MB") {
			t.Errorf("%s: message %q", id, last.GetMessage())
		}
	}
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

// TestStaleCgroupsRemoved: an agent starting on a (fake, v1) memory
// hierarchy removes the empty container cgroups that earlier agents left
// and the parents left empty; cgroups with processes and recent ones stay.
func TestStaleCgroupsRemoved(t *testing.T) {
	root := t.TempDir()
	hier := filepath.Join(root, "memory")
	old := time.Now().Add(-time.Hour)
	mk := func(dir string, procs string, age time.Time) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(hier, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if procs != "" {
			if err := os.WriteFile(filepath.Join(hier, dir, "cgroup.procs"), []byte(procs), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(filepath.Join(hier, dir), age, age); err != nil {
			t.Fatal(err)
		}
	}
	mk("kubemesos-agent-gone/c1", "", old)
	mk("kubemesos-agent-gone", "", old)
	mk("kubemesos-agent-old/empty", "", old)
	mk("kubemesos-agent-old/busy", "123\n", old)
	mk("kubemesos-agent-old/fresh", "", time.Now())
	mk("kubemesos-agent-old", "", old)
	mk("other/c1", "", old)
	if err := os.WriteFile(filepath.Join(hier, "memory.limit_in_bytes"), []byte("9223372036854771712\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start(t, 1, func(c *agent.Config) { c.CgroupRoot = root })
	for dir, want := range map[string]bool{
		"kubemesos-agent-gone":      false,
		"kubemesos-agent-old/empty": false,
		"kubemesos-agent-old/busy":  true,
		"kubemesos-agent-old/fresh": true,
		"kubemesos-agent-old":       true,
		"other/c1":                  true,
	} {
		if _, err := os.Stat(filepath.Join(hier, dir)); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", dir, err == nil, want)
		}
	}
}
