package agent_test

import (
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
