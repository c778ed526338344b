package executor_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubemesos/kubemesos/mesos-sim/agent"
	"github.com/kubemesos/kubemesos/mesos-sim/master"
	"github.com/kubemesos/kubemesos/mesos-sim/simtest"
	"github.com/kubemesos/kubemesos/mesos-sim/spec"
)

// TestAgentRestartKeepsPods: a checkpointing framework's executor
// (MESOS_CHECKPOINT=1) outlives its mesos-sim process agent; the agent,
// restarted on the same work directory and port, recovers it, and the
// executor subscribes again without touching its pod: the same executor
// process and the same container process, no update but a resent
// TASK_RUNNING. The recovered executor then takes a new pod and a kill, and
// shuts down on SHUTDOWN.
func TestAgentRestartKeepsPods(t *testing.T) {
	env := simtest.Start(t, simtest.Options{Master: master.Config{AllocationInterval: 20 * time.Millisecond}})
	res, err := spec.ParseResources(agentResources)
	if err != nil {
		t.Fatal(err)
	}
	cfg := agent.Config{
		MasterURL: env.URL, Listen: "127.0.0.1:0", Resources: res, WorkDir: t.TempDir(), Isolation: "none",
		// Also the executor's MESOS_SUBSCRIPTION_BACKOFF_MAX: generous, so
		// that a loaded machine does not fail the test.
		ExecutorReregistrationTimeout: 10 * time.Second,
	}
	a := startAgent(t, cfg)
	cfg.Listen = a.Endpoint()
	f := subscribeFramework(t, env.URL, true)

	f.launch(map[string][]byte{"survivor": podTask(t, "survivor", corev1.RestartPolicyAlways, "exec sleep 3600")})
	seen := f.until("survivor", mesos.TASK_RUNNING)
	running := seen[len(seen)-1]
	agentID := *running.AgentID
	m, _ := podStatus(t, running)
	container := containerPID(t, running)
	sandbox := filepath.Dir(filepath.Dir(m.Directory)) // <sandbox>/pods/<pod>
	executor := executorIn(t, sandbox)
	t.Cleanup(func() {
		if t.Failed() { // the executor outlives agents: leave nothing running
			_ = syscall.Kill(executor, syscall.SIGKILL)
			_ = syscall.Kill(container, syscall.SIGKILL)
		}
	})
	// The rest of the first offer: mesos-sim's master keeps it while the
	// agent restarts (it rescinds an agent's offers only once the agent is
	// unreachable or gone), so no new offer comes after the restart.
	remainder := f.offer()

	a.stop()
	if !alive(executor) || !alive(container) {
		t.Fatalf("the agent's stop ended the executor (alive: %v) or the pod's container (alive: %v)", alive(executor), alive(container))
	}
	a = startAgent(t, cfg)
	if a.ID() != agentID.Value {
		t.Fatalf("the restarted agent is %s, want %s", a.ID(), agentID.Value)
	}

	// A pod launched after the restart runs on the same executor, which
	// therefore subscribed again.
	f.accept(remainder, map[string][]byte{"after": podTask(t, "after", corev1.RestartPolicyAlways, "exec sleep 3600")})
	seen = f.until("after", mesos.TASK_RUNNING)
	if m, _ := podStatus(t, seen[len(seen)-1]); filepath.Dir(filepath.Dir(m.Directory)) != sandbox {
		t.Errorf("the new pod is in %s, want the recovered executor's sandbox %s", m.Directory, sandbox)
	}
	if got := executorIn(t, sandbox); got != executor {
		t.Errorf("the executor is process %d, want %d (the one before the restart)", got, executor)
	}
	if !alive(container) {
		t.Error("the surviving pod's container process is gone")
	}
	for len(f.updatesOf("survivor")) > 0 {
		st := f.next("survivor")
		if st.GetState() != mesos.TASK_RUNNING || containerPID(t, st) != container {
			t.Errorf("update of the surviving pod after the restart: %s, container %d (want a resent TASK_RUNNING of %d)", describe(st), containerPID(t, st), container)
		}
	}

	f.kill("survivor")
	f.until("survivor", mesos.TASK_KILLED)
	if alive(container) {
		t.Error("the killed pod's container process still runs")
	}
	f.shutdown(agentID)
	eventuallyTrue(t, "the executor to exit after SHUTDOWN", func() bool { return !alive(executor) })
}

// runningAgent is a mesos-sim process agent run in this process.
type runningAgent struct {
	*agent.Agent
	stop func()
}

// startAgent runs an agent until the test ends or stop is called, and
// returns once it has registered.
func startAgent(t *testing.T, cfg agent.Config) runningAgent {
	t.Helper()
	a, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.Run(ctx)
	}()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	select {
	case <-a.Registered():
	case <-time.After(wait):
		t.Fatal("the agent did not register")
	}
	return runningAgent{Agent: a, stop: stop}
}

// containerPID is the process of a pod's only container, from the
// containerID of an update's pod status (process://<pid>).
func containerPID(t *testing.T, st mesos.TaskStatus) int {
	t.Helper()
	_, ps := podStatus(t, st)
	if len(ps.ContainerStatuses) != 1 {
		t.Fatalf("%d container statuses, want 1", len(ps.ContainerStatuses))
	}
	id := ps.ContainerStatuses[0].ContainerID
	pid, err := strconv.Atoi(strings.TrimPrefix(id, "process://"))
	if err != nil || !strings.HasPrefix(id, "process://") {
		t.Fatalf("containerID %q is not process://<pid>", id)
	}
	return pid
}

// executorIn finds the executor process whose working directory is
// sandbox.
func executorIn(t *testing.T, sandbox string) int {
	t.Helper()
	want, err := filepath.EvalSymlinks(sandbox)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if exe == testExecutor(t) && cwd == want && alive(pid) {
			return pid
		}
	}
	t.Fatalf("no executor process runs in %s", sandbox)
	return 0
}

// alive reports whether pid runs (exists and is not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

// eventuallyTrue polls cond until it holds, failing the test after wait.
func eventuallyTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
