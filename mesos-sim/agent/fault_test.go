package agent_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/agent"
	"github.com/kubemesos/kubemesos/mesos-sim/master"
)

// TestAgentUnreachableAndBack: an agent the master drops (as after missed
// pings) notices the silence, re-registers with its running task, and the
// framework hears the task is back; an agent that dies is marked
// unreachable after the configured pings.
func TestAgentUnreachableAndBack(t *testing.T) {
	env := startWith(t, master.Config{AgentPingTimeout: 100 * time.Millisecond, MaxAgentPingTimeouts: 3}, 1,
		func(c *agent.Config) { c.MasterPingTimeout = time.Second })
	s := subscribe(t, env, mesos.FrameworkInfo_Capability_PARTITION_AWARE)
	offer := firstOffer(t, s)
	launch(t, s, offer, shellTask("survivor", offer, "exec sleep 1000"))
	awaitState(t, s, "survivor", mesos.TASK_RUNNING)
	agentID := env.agents[0].ID()

	if err := env.Master.MarkUnreachable(agentID); err != nil {
		t.Fatal(err)
	}
	if st := awaitUpdate(t, s, "survivor"); st.GetState() != mesos.TASK_UNREACHABLE || st.GetReason() != mesos.REASON_AGENT_REMOVED {
		t.Fatalf("after MarkUnreachable: %v %v", st.GetState(), st.GetReason())
	}
	st := awaitUpdate(t, s, "survivor")
	if st.GetState() != mesos.TASK_RUNNING || st.GetReason() != mesos.REASON_AGENT_REREGISTERED {
		t.Fatalf("after the agent came back: %v %v", st.GetState(), st.GetReason())
	}
	if env.agents[0].ID() != agentID {
		t.Fatalf("agent came back as %s, want %s", env.agents[0].ID(), agentID)
	}

	// The agent dies: after three missed pings the master gives up on it.
	env.stops[0]()
	st = awaitUpdate(t, s, "survivor")
	if st.GetState() != mesos.TASK_UNREACHABLE || st.GetReason() != mesos.REASON_AGENT_REMOVED || st.UnreachableTime == nil {
		t.Fatalf("after the agent died: %v %v", st.GetState(), st.GetReason())
	}
	ev, err := s.Await(scheduler.Event_FAILURE, wait)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Failure.GetAgentID().GetValue() != agentID || ev.Failure.ExecutorID != nil {
		t.Fatalf("FAILURE %v, want the lost agent", ev.Failure)
	}
}

// TestAgentMarkedGone: an agent the operator marks gone is told to shut
// down; its Run ends with ErrGone and its processes die.
func TestAgentMarkedGone(t *testing.T) {
	env := start(t, 1, nil)
	s := subscribe(t, env, mesos.FrameworkInfo_Capability_PARTITION_AWARE)
	offer := firstOffer(t, s)
	launch(t, s, offer, shellTask("doomed", offer, "echo $$ > pid; exec sleep 1000"))
	awaitState(t, s, "doomed", mesos.TASK_RUNNING)
	pid := readPID(t, env.sandbox(0, s.FrameworkID(), "doomed")+"/pid")
	if err := env.Master.MarkGone(env.agents[0].ID()); err != nil {
		t.Fatal(err)
	}
	if st := awaitUpdate(t, s, "doomed"); st.GetState() != mesos.TASK_GONE_BY_OPERATOR {
		t.Fatalf("after MarkGone: %v", st.GetState())
	}
	select {
	case err := <-env.ended[0]:
		if !errors.Is(err, agent.ErrGone) {
			t.Fatalf("agent Run returned %v, want ErrGone", err)
		}
	case <-time.After(wait):
		t.Fatal("the agent did not stop")
	}
	eventually(t, "the task's process to die", func() bool { return dead(pid) })
}

// TestTeardownKillsEverything: a framework's teardown kills its command
// tasks and executors on the agent.
func TestTeardownKillsEverything(t *testing.T) {
	env := start(t, 1, nil)
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	launch(t, s, offer,
		shellTask("cmd", offer, "echo $$ > pid; exec sleep 1000"),
		executorTask("exec-task", offer, executorInfo(t, "to-tear-down"), "run"))
	awaitState(t, s, "cmd", mesos.TASK_RUNNING)
	awaitState(t, s, "exec-task", mesos.TASK_RUNNING)
	cmdPID := readPID(t, env.sandbox(0, s.FrameworkID(), "cmd")+"/pid")
	if code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_TEARDOWN}); err != nil || code != http.StatusAccepted {
		t.Fatalf("TEARDOWN: %d %s %v", code, body, err)
	}
	eventually(t, "the command task to die", func() bool { return dead(cmdPID) })
	eventually(t, "the agent to forget the framework", func() bool {
		code, _, body := get(t, env.agents[0].URL()+"/state")
		var state struct{ Frameworks []any }
		return code == http.StatusOK && json.Unmarshal([]byte(body), &state) == nil && len(state.Frameworks) == 0
	})
	eventually(t, "the executor to get SHUTDOWN", func() bool {
		return strings.Contains(readFile(t, env.agents[0], env.sandbox(0, s.FrameworkID(), "to-tear-down")+"/stdout"), "EVENT SHUTDOWN")
	})
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	eventually(t, "pid file "+path, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return pid
}

// TestShutdownDuringFetch: an executor shut down while its URIs are still
// being fetched fails its task once, and the failing fetch that follows
// changes nothing.
func TestShutdownDuringFetch(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(arrived)
		<-release
		http.Error(w, "too late", http.StatusInternalServerError)
	}))
	defer srv.Close()
	defer close(release)
	env := start(t, 1, nil)
	s := subscribe(t, env)
	offer := firstOffer(t, s)
	exec := &mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "slow"}, Command: &mesos.CommandInfo{
		Value: strPtr("./never"), URIs: []mesos.CommandInfo_URI{{Value: srv.URL + "/never"}},
	}}
	launch(t, s, offer, executorTask("waiting", offer, exec, ""))
	select {
	case <-arrived:
	case <-time.After(wait):
		t.Fatal("the fetch did not start")
	}
	agentID := mesos.AgentID{Value: env.agents[0].ID()}
	if code, _, err := s.Call(&scheduler.Call{Type: scheduler.Call_SHUTDOWN, Shutdown: &scheduler.Call_Shutdown{ExecutorID: exec.ExecutorID, AgentID: agentID}}); err != nil || code != http.StatusAccepted {
		t.Fatalf("SHUTDOWN: %d %v", code, err)
	}
	if st := awaitUpdate(t, s, "waiting"); st.GetState() != mesos.TASK_FAILED || st.GetReason() != mesos.REASON_EXECUTOR_TERMINATED {
		t.Fatalf("after SHUTDOWN: %v %v", st.GetState(), st.GetReason())
	}
	release <- struct{}{}
	// The agent lives on and launches the next task.
	offer = firstOffer(t, s)
	launch(t, s, offer, shellTask("after", offer, "true"))
	if _, last := awaitTerminal(t, s, "after"); last.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("next task: %v", last.GetState())
	}
}
