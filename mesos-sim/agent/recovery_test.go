package agent_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/agent"
	"github.com/kubemesos/kubemesos/mesos-sim/simtest"
	"github.com/kubemesos/kubemesos/mesos-sim/wire"
)

// recoveryEnv is a master with one agent that a test stops and restarts on
// the same work directory and port, as an agent process restarted on its
// host.
type recoveryEnv struct {
	*testEnv
	cfg agent.Config
}

func startRecovery(t *testing.T, mutate func(*agent.Config)) *recoveryEnv {
	t.Helper()
	re := &recoveryEnv{}
	re.testEnv = start(t, 1, func(c *agent.Config) {
		c.ExecutorReregistrationTimeout = 10 * time.Second
		if mutate != nil {
			mutate(c)
		}
		re.cfg = *c
	})
	re.cfg.Listen = re.agents[0].Endpoint()
	return re
}

// restart stops the agent (its checkpointing executors stay) and starts a
// new one on the same work directory and port; before runs between the two
// (the agent is down).
func (re *recoveryEnv) restart(t *testing.T, before func()) *agent.Agent {
	t.Helper()
	re.stops[0]()
	if before != nil {
		before()
	}
	a, err := agent.New(re.cfg)
	if err != nil {
		t.Fatalf("restart agent: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.Run(ctx)
	}()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	re.stops[0] = stop
	select {
	case <-a.Registered():
	case <-time.After(wait):
		t.Fatal("restarted agent did not register")
	}
	re.agents[0] = a
	return a
}

func subscribeCheckpointing(t *testing.T, env *testEnv, checkpoint bool) *keeper {
	t.Helper()
	info := &mesos.FrameworkInfo{User: "test", Name: "recovery-test", Checkpoint: &checkpoint,
		Capabilities: []mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_PARTITION_AWARE}}}
	s, err := simtest.Subscribe(env.SchedulerURL(), wire.JSON, info, nil)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Await(scheduler.Event_SUBSCRIBED, wait); err != nil {
		t.Fatal(err)
	}
	return keep(s)
}

var pidLine = regexp.MustCompile(`(?m)^PID (\d+)$`)

// executorPID reads the test executor's pid from its stdout, and makes
// sure the process (left running by its agents) dies with the test.
func executorPID(t *testing.T, sandbox string) int {
	t.Helper()
	eventually(t, "the sandbox "+sandbox, func() bool {
		_, err := filepath.EvalSymlinks(sandbox)
		return err == nil
	})
	var pid int
	eventually(t, "the executor's pid", func() bool {
		b, _ := os.ReadFile(filepath.Join(sandbox, "stdout"))
		m := pidLine.FindSubmatch(b)
		if m == nil {
			return false
		}
		pid, _ = strconv.Atoi(string(m[1]))
		return true
	})
	pgid, err := syscall.Getpgid(pid) // the executor's shell
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
	return pid
}

// killGroup kills the process group of pid.
func killGroup(t *testing.T, pid int) {
	t.Helper()
	pgid, err := syscall.Getpgid(pid)
	if err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// awaitChange waits for an update of a task that is not a resend of its
// last known state (an acknowledgement the stopped agent never got makes
// the restarted one send the update again, as Mesos' at-least-once
// delivery does).
func awaitChange(t *testing.T, s *keeper, taskID string, last mesos.TaskState) mesos.TaskStatus {
	t.Helper()
	for {
		if st := awaitUpdate(t, s, taskID); st.GetState() != last {
			return st
		}
	}
}

func count(t *testing.T, path, text string) int {
	t.Helper()
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), text)
}

// masterTaskState is a task's state and agent in the master's /master/state.
func masterTaskState(t *testing.T, env *testEnv, taskID string) (state, agentID string, agents int) {
	t.Helper()
	resp, err := http.Get(env.URL + "/master/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Slaves []struct {
			ID     string `json:"id"`
			Active bool   `json:"active"`
		} `json:"slaves"`
		Frameworks []struct {
			Tasks []struct {
				ID      string `json:"id"`
				State   string `json:"state"`
				SlaveID string `json:"slave_id"`
			} `json:"tasks"`
		} `json:"frameworks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	for _, fw := range st.Frameworks {
		for _, task := range fw.Tasks {
			if task.ID == taskID {
				state, agentID = task.State, task.SlaveID
			}
		}
	}
	return state, agentID, len(st.Slaves)
}

// TestRecoveryReconnectsCheckpointedExecutor: a checkpointing framework's
// executor survives its agent's stop; the agent restarted on the same work
// directory comes back with the same ID, the executor (the same process)
// subscribes again, its task is still RUNNING and a kill goes through; a
// second restart finds the executor again. The
// same framework's command task, run by the agent's built-in command
// executor, does not survive: it fails on recovery.
func TestRecoveryReconnectsCheckpointedExecutor(t *testing.T) {
	re := startRecovery(t, nil)
	s := subscribeCheckpointing(t, re.testEnv, true)
	offer := firstOffer(t, s)
	launch(t, s, offer,
		executorTask("survivor", offer, executorInfo(t, "cp-exec"), "run"),
		shellTask("cmd", offer, "exec sleep 1000"))
	awaitState(t, s, "survivor", mesos.TASK_RUNNING)
	awaitState(t, s, "cmd", mesos.TASK_RUNNING)
	agentID := re.agents[0].ID()
	sandbox := re.sandbox(0, s.FrameworkID(), "cp-exec")
	pid := executorPID(t, sandbox)
	sandbox = resolved(t, sandbox)
	stdout := filepath.Join(sandbox, "stdout")

	a := re.restart(t, func() {
		if dead(pid) {
			t.Fatal("the checkpointing executor died with its agent")
		}
	})
	if a.ID() != agentID {
		t.Fatalf("restarted agent is %s, want %s", a.ID(), agentID)
	}
	eventually(t, "the executor to subscribe again", func() bool {
		if count(t, stdout, "EVENT SUBSCRIBED") > 2 {
			b, _ := os.ReadFile(stdout)
			t.Fatalf("executor output:\n%s", b)
		}
		return count(t, stdout, "EVENT SUBSCRIBED") == 2
	})

	st := awaitChange(t, s, "cmd", mesos.TASK_RUNNING)
	if st.GetState() != mesos.TASK_FAILED || st.GetReason() != mesos.REASON_EXECUTOR_TERMINATED || !strings.Contains(st.GetMessage(), "built-in command executor") {
		t.Fatalf("command task after the restart: %v %v %q", st.GetState(), st.GetReason(), st.GetMessage())
	}
	state, taskAgent, agents := masterTaskState(t, re.testEnv, "survivor")
	if state != "TASK_RUNNING" || taskAgent != agentID || agents != 1 {
		t.Fatalf("master: task %s on %s, %d agents; want TASK_RUNNING on %s, 1 agent", state, taskAgent, agents, agentID)
	}

	code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_KILL, Kill: &scheduler.Call_Kill{TaskID: mesos.TaskID{Value: "survivor"}}})
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("KILL: %d %q %v", code, body, err)
	}
	if st := awaitChange(t, s, "survivor", mesos.TASK_RUNNING); st.GetState() != mesos.TASK_KILLED || st.GetAgentID().GetValue() != agentID {
		t.Fatalf("after KILL: %v from %s", st.GetState(), st.GetAgentID().GetValue())
	}
	if dead(pid) {
		t.Fatal("the executor process is gone")
	}

	// A second restart recovers what the first one recovered.
	if a := re.restart(t, nil); a.ID() != agentID {
		t.Fatalf("agent after the second restart is %s, want %s", a.ID(), agentID)
	}
	eventually(t, "the executor to subscribe a third time", func() bool { return count(t, stdout, "EVENT SUBSCRIBED") == 3 })
	if dead(pid) {
		t.Fatal("the executor process is gone")
	}
}

// TestRecoveryWithoutCheckpoint: a framework that does not checkpoint has
// its executor killed when the agent stops; the restarted agent (same ID)
// does not report its task, which the master ends.
func TestRecoveryWithoutCheckpoint(t *testing.T) {
	re := startRecovery(t, nil)
	s := subscribeCheckpointing(t, re.testEnv, false)
	offer := firstOffer(t, s)
	launch(t, s, offer, executorTask("ephemeral", offer, executorInfo(t, "plain-exec"), "run"))
	awaitState(t, s, "ephemeral", mesos.TASK_RUNNING)
	agentID := re.agents[0].ID()
	pid := executorPID(t, (re.sandbox(0, s.FrameworkID(), "plain-exec")))

	a := re.restart(t, func() {
		eventually(t, "the executor to die with its agent", func() bool { return dead(pid) })
		if _, err := os.Stat(filepath.Join(re.cfg.WorkDir, "meta", "slaves", agentID, "slave.info")); err != nil {
			t.Errorf("agent info not checkpointed: %v", err)
		}
		if _, err := os.Stat(filepath.Join(re.cfg.WorkDir, "meta", "slaves", agentID, "frameworks")); !os.IsNotExist(err) {
			t.Errorf("a framework without checkpoint was checkpointed: %v", err)
		}
	})
	if a.ID() != agentID {
		t.Fatalf("restarted agent is %s, want %s", a.ID(), agentID)
	}
	if st := awaitChange(t, s, "ephemeral", mesos.TASK_RUNNING); st.GetState() != mesos.TASK_GONE && st.GetState() != mesos.TASK_LOST {
		t.Fatalf("task of a non-checkpointing framework after the restart: %v", st.GetState())
	}
}

// TestRecoveryExecutorGone: a checkpointed executor that died while its
// agent was down ends as an executor exit: TASK_FAILED,
// REASON_EXECUTOR_TERMINATED, and a FAILURE event.
func TestRecoveryExecutorGone(t *testing.T) {
	re := startRecovery(t, nil)
	s := subscribeCheckpointing(t, re.testEnv, true)
	offer := firstOffer(t, s)
	launch(t, s, offer, executorTask("orphan", offer, executorInfo(t, "doomed-exec"), "run"))
	awaitState(t, s, "orphan", mesos.TASK_RUNNING)
	pid := executorPID(t, (re.sandbox(0, s.FrameworkID(), "doomed-exec")))

	re.restart(t, func() {
		killGroup(t, pid)
		eventually(t, "the executor to die", func() bool { return dead(pid) })
	})
	if st := awaitChange(t, s, "orphan", mesos.TASK_RUNNING); st.GetState() != mesos.TASK_FAILED || st.GetReason() != mesos.REASON_EXECUTOR_TERMINATED {
		t.Fatalf("task of a dead executor: %v %v", st.GetState(), st.GetReason())
	}
	ev, err := s.Await(scheduler.Event_FAILURE, wait)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Failure.GetExecutorID().GetValue() != "doomed-exec" {
		t.Fatalf("FAILURE %v, want executor doomed-exec", ev.Failure)
	}
}

// gatedExecutor is executorInfo whose process subscribes only once gate
// exists.
func gatedExecutor(t *testing.T, id, gate string) *mesos.ExecutorInfo {
	info := executorInfo(t, id)
	info.Command.Environment = &mesos.Environment{Variables: []mesos.Environment_Variable{{Name: "TEST_SUBSCRIBE_GATE", Value: strPtr(gate)}}}
	return info
}

// TestRecoveryDropsUndeliveredTask: a task the agent had not delivered when
// it went down, and that the executor does not list among its
// unacknowledged tasks when it subscribes to the restarted agent, is
// dropped (TASK_DROPPED, REASON_AGENT_RESTARTED), as Mesos does.
func TestRecoveryDropsUndeliveredTask(t *testing.T) {
	re := startRecovery(t, nil)
	s := subscribeCheckpointing(t, re.testEnv, true)
	gate := filepath.Join(t.TempDir(), "gate")
	offer := firstOffer(t, s)
	launch(t, s, offer, executorTask("undelivered", offer, gatedExecutor(t, "late-exec", gate), "run"))
	executorPID(t, (re.sandbox(0, s.FrameworkID(), "late-exec")))

	re.restart(t, func() {
		if err := os.WriteFile(gate, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	st := awaitChange(t, s, "undelivered", mesos.TASK_STAGING)
	if st.GetState() != mesos.TASK_DROPPED || st.GetReason() != mesos.REASON_AGENT_RESTARTED {
		t.Fatalf("undelivered task after the restart: %v %v %q", st.GetState(), st.GetReason(), st.GetMessage())
	}
}

// TestRecoveryReregistrationTimeout: a live checkpointed executor that does
// not subscribe to the restarted agent in time is killed; its task ends
// TASK_GONE, REASON_EXECUTOR_REREGISTRATION_TIMEOUT.
func TestRecoveryReregistrationTimeout(t *testing.T) {
	re := startRecovery(t, func(c *agent.Config) { c.ExecutorReregistrationTimeout = 200 * time.Millisecond })
	s := subscribeCheckpointing(t, re.testEnv, true)
	offer := firstOffer(t, s)
	launch(t, s, offer, executorTask("mute", offer, gatedExecutor(t, "mute-exec", filepath.Join(t.TempDir(), "never")), "run"))
	pid := executorPID(t, (re.sandbox(0, s.FrameworkID(), "mute-exec")))

	re.restart(t, nil)
	st := awaitChange(t, s, "mute", mesos.TASK_STAGING)
	if st.GetState() != mesos.TASK_GONE || st.GetReason() != mesos.REASON_EXECUTOR_REREGISTRATION_TIMEOUT {
		t.Fatalf("task of an executor that did not come back: %v %v %q", st.GetState(), st.GetReason(), st.GetMessage())
	}
	eventually(t, "the executor to be killed", func() bool { return dead(pid) })
}

// TestRecoveryFrameworkRemovedWhileDown: a checkpointing framework torn
// down while its agent was down is shut down on the agent once it is back:
// its surviving executor is told to shut down and exits.
func TestRecoveryFrameworkRemovedWhileDown(t *testing.T) {
	re := startRecovery(t, nil)
	s := subscribeCheckpointing(t, re.testEnv, true)
	offer := firstOffer(t, s)
	launch(t, s, offer, executorTask("abandoned", offer, executorInfo(t, "abandoned-exec"), "run"))
	awaitState(t, s, "abandoned", mesos.TASK_RUNNING)
	pid := executorPID(t, re.sandbox(0, s.FrameworkID(), "abandoned-exec"))

	re.restart(t, func() {
		code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_TEARDOWN})
		if err != nil || code != http.StatusAccepted {
			t.Fatalf("TEARDOWN: %d %q %v", code, body, err)
		}
	})
	eventually(t, "the executor of the removed framework to exit", func() bool { return dead(pid) })
}

// TestRecoveryRegistersAfterExecutors: a restarted agent registers only once
// its recovered executors subscribed again, also when that takes longer
// than its master ping timeout (the master has not pinged this run yet, so
// no ping is missing): a KILL the master forwards right after the
// registration must find the executor subscribed.
func TestRecoveryRegistersAfterExecutors(t *testing.T) {
	re := startRecovery(t, func(c *agent.Config) { c.MasterPingTimeout = 50 * time.Millisecond })
	s := subscribeCheckpointing(t, re.testEnv, true)
	gate := filepath.Join(t.TempDir(), "gate")
	offer := firstOffer(t, s)
	launch(t, s, offer, executorTask("slow", offer, gatedExecutor(t, "slow-exec", gate), "run"))
	executorPID(t, re.sandbox(0, s.FrameworkID(), "slow-exec"))

	re.stops[0]()
	a, err := agent.New(re.cfg)
	if err != nil {
		t.Fatalf("restart agent: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.Run(ctx)
	}()
	re.stops[0] = func() { cancel(); <-done }
	t.Cleanup(re.stops[0])
	// Twenty ping timeouts: the ping watchdog would have registered the
	// agent long before.
	select {
	case <-a.Registered():
		t.Fatal("the restarted agent registered before its recovered executor subscribed")
	case <-time.After(20 * re.cfg.MasterPingTimeout):
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Registered():
	case <-time.After(wait):
		t.Fatal("restarted agent did not register once its executor subscribed")
	}
}
