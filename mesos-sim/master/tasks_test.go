package master_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/kubemesos/kubemesos/mesos-sim/master"
	"github.com/kubemesos/kubemesos/mesos-sim/simtest"
)

func fastMaster() master.Config {
	return master.Config{AllocationInterval: 50 * time.Millisecond}
}

func commandTask(id string, offer *mesos.Offer, cpus, mem float64) mesos.TaskInfo {
	cmd := "sleep 1000"
	return mesos.TaskInfo{
		Name:    id,
		TaskID:  mesos.TaskID{Value: id},
		AgentID: offer.AgentID,
		Command: &mesos.CommandInfo{Value: &cmd},
		Resources: []mesos.Resource{
			resources.NewCPUs(cpus).Resource,
			resources.NewMemory(mem).Resource,
		},
	}
}

func launch(t *testing.T, s simtest.Client, offer *mesos.Offer, tasks ...mesos.TaskInfo) {
	t.Helper()
	refuse := 0.0
	code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_ACCEPT, Accept: &scheduler.Call_Accept{
		OfferIDs:   []mesos.OfferID{offer.ID},
		Operations: []mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH, Launch: &mesos.Offer_Operation_Launch{TaskInfos: tasks}}},
		Filters:    &mesos.Filters{RefuseSeconds: &refuse},
	}})
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("ACCEPT: %d %q %v", code, body, err)
	}
}

// awaitUpdate waits for the next UPDATE of a task, acknowledging reliable
// ones when ack is set.
func awaitUpdate(t *testing.T, s simtest.Client, taskID string, ack bool) mesos.TaskStatus {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ev, err := s.Await(scheduler.Event_UPDATE, time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for an update of %s: %v", taskID, err)
		}
		st := ev.Update.Status
		if st.TaskID.Value != taskID {
			continue
		}
		if ack && len(st.UUID) > 0 {
			acknowledge(t, s, st)
		}
		return st
	}
}

func acknowledge(t *testing.T, s simtest.Client, st mesos.TaskStatus) {
	t.Helper()
	code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE, Acknowledge: &scheduler.Call_Acknowledge{
		AgentID: *st.AgentID, TaskID: st.TaskID, UUID: st.UUID,
	}})
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("ACKNOWLEDGE: %d %q %v", code, body, err)
	}
}

func firstOffer(t *testing.T, s simtest.Client) *mesos.Offer {
	t.Helper()
	ev, err := s.Await(scheduler.Event_OFFERS, wait)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Offers.Offers) == 0 {
		t.Fatal("OFFERS event without offers")
	}
	return &ev.Offers.Offers[0]
}

func TestLaunchRunAcknowledge(t *testing.T) {
	forEachClient(t, func(t *testing.T, codec clientKind) {
		env := simtest.Start(t, simtest.Options{Agents: 1, Master: fastMaster()})
		s := subscribe(t, env, codec, frameworkInfo("launch"))
		offer := firstOffer(t, s)
		if offer.Hostname != "sim-agent-0" || offer.AllocationInfo != nil {
			t.Errorf("offer hostname %q, allocation info %v (want stripped for a non-MULTI_ROLE framework)", offer.Hostname, offer.AllocationInfo)
		}
		if cpus, _ := resources.CPUs(offer.Resources...); cpus != 4 {
			t.Errorf("offered cpus %v, want 4 (coarse-grained: the whole agent)", cpus)
		}
		launch(t, s, offer, commandTask("t1", offer, 1, 128))
		var states []mesos.TaskState
		for {
			st := awaitUpdate(t, s, "t1", true)
			if len(st.UUID) != 16 || st.GetSource() != mesos.SOURCE_EXECUTOR || st.AgentID == nil {
				t.Errorf("agent update %v: want a 16-byte uuid, source executor and an agent id", st)
			}
			states = append(states, st.GetState())
			if st.GetState() == mesos.TASK_RUNNING {
				break
			}
		}
		if fmt.Sprint(states) != "[TASK_STARTING TASK_RUNNING]" {
			t.Fatalf("states %v, want STARTING then RUNNING", states)
		}

		// Explicit and implicit reconciliation answer RUNNING without uuid.
		code, _, _ := s.Call(&scheduler.Call{Type: scheduler.Call_RECONCILE, Reconcile: &scheduler.Call_Reconcile{
			Tasks: []scheduler.Call_Reconcile_Task{{TaskID: mesos.TaskID{Value: "t1"}}},
		}})
		if code != http.StatusAccepted {
			t.Fatalf("RECONCILE: %d", code)
		}
		st := awaitUpdate(t, s, "t1", false)
		if st.GetState() != mesos.TASK_RUNNING || st.GetReason() != mesos.REASON_RECONCILIATION || len(st.UUID) != 0 || st.GetSource() != mesos.SOURCE_MASTER {
			t.Fatalf("reconciliation update %v", st)
		}

		// KILL ends it with TASK_KILLED; acknowledging removes it.
		if code, _, _ := s.Call(&scheduler.Call{Type: scheduler.Call_KILL, Kill: &scheduler.Call_Kill{TaskID: mesos.TaskID{Value: "t1"}}}); code != http.StatusAccepted {
			t.Fatalf("KILL: %d", code)
		}
		if st := awaitUpdate(t, s, "t1", true); st.GetState() != mesos.TASK_KILLED {
			t.Fatalf("after KILL: %v", st)
		}
	})
}

func TestInvalidOffersAndTasks(t *testing.T) {
	forEachClient(t, func(t *testing.T, codec clientKind) {
		env := simtest.Start(t, simtest.Options{Agents: 1, Master: fastMaster()})
		info := frameworkInfo("invalid", mesos.FrameworkInfo_Capability_PARTITION_AWARE)
		s := subscribe(t, env, codec, info)
		offer := firstOffer(t, s)

		// A task asking for more than offered gets TASK_ERROR.
		launch(t, s, offer, commandTask("big", offer, 64, 128), commandTask("ok", offer, 1, 128))
		if st := awaitUpdate(t, s, "big", false); st.GetState() != mesos.TASK_ERROR || st.GetReason() != mesos.REASON_TASK_INVALID || len(st.UUID) != 0 {
			t.Errorf("oversized task: %v", st)
		}
		if st := awaitUpdate(t, s, "ok", true); st.GetState() != mesos.TASK_STARTING {
			t.Errorf("valid task in the same ACCEPT: %v", st)
		}
		// Reusing a used offer: TASK_DROPPED (partition aware), REASON_INVALID_OFFERS.
		launch(t, s, offer, commandTask("late", offer, 1, 128))
		// The remainder of the first offer comes back within an allocation
		// interval, which may be before or after the dropped task's update:
		// keep whichever arrives.
		var late *mesos.TaskStatus
		var next *mesos.Offer
		for deadline := time.Now().Add(wait); late == nil || next == nil; {
			ev, err := s.Next(time.Until(deadline))
			if err != nil {
				t.Fatalf("waiting for the dropped task's update and the next offer: %v", err)
			}
			switch {
			case ev.Type == scheduler.Event_OFFERS && len(ev.Offers.Offers) > 0 && next == nil:
				next = &ev.Offers.Offers[0]
			case ev.Type == scheduler.Event_UPDATE && ev.Update.Status.TaskID.Value == "late":
				late = &ev.Update.Status
			}
		}
		if late.GetState() != mesos.TASK_DROPPED || late.GetReason() != mesos.REASON_INVALID_OFFERS {
			t.Errorf("task on a used offer: %v", late)
		}
		// A duplicate task id gets TASK_ERROR.
		launch(t, s, next, commandTask("ok", next, 1, 128))
		if st := awaitUpdate(t, s, "ok", false); st.GetState() != mesos.TASK_ERROR {
			t.Errorf("duplicate task id: %v", st)
		}
		// Operation feedback (an operation id) is not supported: a LAUNCH
		// with an id fails its tasks, a RESERVE with one is OPERATION_ERROR.
		next = firstOffer(t, s)
		opID := &mesos.OperationID{Value: "op-1"}
		refuse := 0.0
		code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_ACCEPT, Accept: &scheduler.Call_Accept{
			OfferIDs: []mesos.OfferID{next.ID},
			Operations: []mesos.Offer_Operation{
				{Type: mesos.Offer_Operation_LAUNCH, ID: opID, Launch: &mesos.Offer_Operation_Launch{TaskInfos: []mesos.TaskInfo{commandTask("with-id", next, 1, 128)}}},
				{Type: mesos.Offer_Operation_RESERVE, ID: &mesos.OperationID{Value: "op-2"}, Reserve: &mesos.Offer_Operation_Reserve{}},
			},
			Filters: &mesos.Filters{RefuseSeconds: &refuse},
		}})
		if err != nil || code != http.StatusAccepted {
			t.Fatalf("ACCEPT: %d %q %v", code, body, err)
		}
		if st := awaitUpdate(t, s, "with-id", false); st.GetState() != mesos.TASK_ERROR || st.GetReason() != mesos.REASON_TASK_INVALID {
			t.Errorf("LAUNCH with an operation id: %v", st)
		}
		ev, err := s.Await(scheduler.Event_UPDATE_OPERATION_STATUS, wait)
		if err != nil || ev.UpdateOperationStatus.Status.State != mesos.OPERATION_ERROR || ev.UpdateOperationStatus.Status.GetOperationID().GetValue() != "op-2" {
			t.Errorf("RESERVE with an operation id: %v %v, want OPERATION_ERROR for op-2", ev, err)
		}
	})
}

func TestReconcileUnknownTasks(t *testing.T) {
	env := simtest.Start(t, simtest.Options{Agents: 1, Master: fastMaster()})
	pa := subscribe(t, env, clientKinds[0], frameworkInfo("pa", mesos.FrameworkInfo_Capability_PARTITION_AWARE))
	plain := subscribe(t, env, clientKinds[0], frameworkInfo("plain"))
	agentID := env.Agents[0].ID()
	for _, c := range []struct {
		s      simtest.Client
		agent  string
		want   mesos.TaskState
		reason string
	}{
		{pa, agentID, mesos.TASK_GONE, "unknown task on a registered agent"},
		{pa, "", mesos.TASK_UNKNOWN, "unknown task, no agent"},
		{pa, "no-such-agent", mesos.TASK_UNKNOWN, "unknown agent"},
		{plain, agentID, mesos.TASK_LOST, "not partition aware"},
	} {
		rt := scheduler.Call_Reconcile_Task{TaskID: mesos.TaskID{Value: "ghost"}}
		if c.agent != "" {
			rt.AgentID = &mesos.AgentID{Value: c.agent}
		}
		if code, _, _ := c.s.Call(&scheduler.Call{Type: scheduler.Call_RECONCILE, Reconcile: &scheduler.Call_Reconcile{Tasks: []scheduler.Call_Reconcile_Task{rt}}}); code != 202 {
			t.Fatalf("%s: RECONCILE %d", c.reason, code)
		}
		if st := awaitUpdate(t, c.s, "ghost", false); st.GetState() != c.want || st.GetReason() != mesos.REASON_RECONCILIATION {
			t.Errorf("%s: %v, want %s", c.reason, st, c.want)
		}
	}
	// KILL of an unknown task is answered like a reconciliation.
	if code, _, _ := pa.Call(&scheduler.Call{Type: scheduler.Call_KILL, Kill: &scheduler.Call_Kill{TaskID: mesos.TaskID{Value: "ghost"}}}); code != 202 {
		t.Fatal("KILL")
	}
	if st := awaitUpdate(t, pa, "ghost", false); st.GetState() != mesos.TASK_UNKNOWN {
		t.Errorf("KILL of an unknown task: %v", st)
	}
}

func TestStatusUpdatesAreRetriedUntilAcknowledged(t *testing.T) {
	env := simtest.Start(t, simtest.Options{Agents: 1, Master: fastMaster(), RetryMin: 100 * time.Millisecond})
	s := subscribe(t, env, clientKinds[2], frameworkInfo("retry"))
	offer := firstOffer(t, s)
	launch(t, s, offer, commandTask("r1", offer, 1, 64))
	first := awaitUpdate(t, s, "r1", false)
	if first.GetState() != mesos.TASK_STARTING {
		t.Fatalf("first update %v", first)
	}
	// Not acknowledged: the same update (same uuid) comes again, and RUNNING
	// waits behind it.
	again := awaitUpdate(t, s, "r1", false)
	if string(again.UUID) != string(first.UUID) || again.GetState() != mesos.TASK_STARTING {
		t.Fatalf("retry %v, want the same STARTING update", again)
	}
	acknowledge(t, s, again)
	if st := awaitUpdate(t, s, "r1", true); st.GetState() != mesos.TASK_RUNNING {
		t.Fatalf("after ack: %v, want RUNNING", st)
	}
}

func TestPartitionedAgent(t *testing.T) {
	env := simtest.Start(t, simtest.Options{Agents: 1, Master: fastMaster()})
	s := subscribe(t, env, clientKinds[0], frameworkInfo("partition", mesos.FrameworkInfo_Capability_PARTITION_AWARE))
	offer := firstOffer(t, s)
	launch(t, s, offer, commandTask("p1", offer, 1, 64))
	for {
		if st := awaitUpdate(t, s, "p1", true); st.GetState() == mesos.TASK_RUNNING {
			break
		}
	}
	agent := env.Agents[0]
	agent.Partition()
	if err := env.Master.MarkUnreachable(agent.ID()); err != nil {
		t.Fatal(err)
	}
	st := awaitUpdate(t, s, "p1", false)
	if st.GetState() != mesos.TASK_UNREACHABLE || st.GetReason() != mesos.REASON_AGENT_REMOVED || st.UnreachableTime == nil {
		t.Fatalf("partitioned task: %v", st)
	}
	if ev, err := s.Await(scheduler.Event_FAILURE, wait); err != nil || ev.Failure.AgentID.GetValue() != agent.ID() {
		t.Fatalf("FAILURE event: %v %v", ev, err)
	}
	// Reconciliation answers what the master knows now: unreachable.
	if code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_RECONCILE, Reconcile: &scheduler.Call_Reconcile{}}); err != nil || code != http.StatusAccepted {
		t.Fatalf("RECONCILE: %d %q %v", code, body, err)
	}
	if st := awaitUpdate(t, s, "p1", false); st.GetState() != mesos.TASK_UNREACHABLE || st.GetReason() != mesos.REASON_RECONCILIATION {
		t.Fatalf("reconciled partitioned task: %v, want TASK_UNREACHABLE (REASON_RECONCILIATION)", st)
	}
	if err := agent.Heal(); err != nil {
		t.Fatal(err)
	}
	st = awaitUpdate(t, s, "p1", false)
	if st.GetState() != mesos.TASK_RUNNING || st.GetReason() != mesos.REASON_AGENT_REREGISTERED {
		t.Fatalf("after heal: %v", st)
	}
}

// TestUnreachableAgentMarkedGone: the tasks of an unreachable agent that
// the operator marks gone get no update; reconciliation answers them
// TASK_GONE_BY_OPERATOR (explicit) and no longer lists them (implicit).
func TestUnreachableAgentMarkedGone(t *testing.T) {
	env := simtest.Start(t, simtest.Options{Agents: 1, Master: fastMaster()})
	s := subscribe(t, env, clientKinds[0], frameworkInfo("gone", mesos.FrameworkInfo_Capability_PARTITION_AWARE))
	offer := firstOffer(t, s)
	launch(t, s, offer, commandTask("g1", offer, 1, 64))
	for {
		if st := awaitUpdate(t, s, "g1", true); st.GetState() == mesos.TASK_RUNNING {
			break
		}
	}
	agent := env.Agents[0]
	agent.Partition()
	if err := env.Master.MarkUnreachable(agent.ID()); err != nil {
		t.Fatal(err)
	}
	if st := awaitUpdate(t, s, "g1", false); st.GetState() != mesos.TASK_UNREACHABLE {
		t.Fatalf("partitioned task: %v", st)
	}
	if err := env.Master.MarkGone(agent.ID()); err != nil {
		t.Fatal(err)
	}
	reconcile := func(tasks ...scheduler.Call_Reconcile_Task) {
		t.Helper()
		if code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_RECONCILE, Reconcile: &scheduler.Call_Reconcile{Tasks: tasks}}); err != nil || code != http.StatusAccepted {
			t.Fatalf("RECONCILE: %d %q %v", code, body, err)
		}
	}
	reconcile(scheduler.Call_Reconcile_Task{TaskID: mesos.TaskID{Value: "g1"}, AgentID: &mesos.AgentID{Value: agent.ID()}})
	if st := awaitUpdate(t, s, "g1", false); st.GetState() != mesos.TASK_GONE_BY_OPERATOR {
		t.Fatalf("explicit reconciliation of the gone agent's task: %v, want TASK_GONE_BY_OPERATOR", st)
	}
	reconcile()
	if ev, err := s.Await(scheduler.Event_UPDATE, 300*time.Millisecond); err == nil {
		t.Errorf("implicit reconciliation still reports a task of the gone agent: %v", ev.GetUpdate().GetStatus())
	}
	if err := agent.Heal(); err == nil {
		t.Error("the agent marked gone registered again")
	}
}

func TestDeclineFilterAndRevive(t *testing.T) {
	env := simtest.Start(t, simtest.Options{Agents: 1, Master: fastMaster()})
	s := subscribe(t, env, clientKinds[0], frameworkInfo("decline"))
	offer := firstOffer(t, s)
	refuse := 3600.0
	if code, _, _ := s.Call(&scheduler.Call{Type: scheduler.Call_DECLINE, Decline: &scheduler.Call_Decline{
		OfferIDs: []mesos.OfferID{offer.ID}, Filters: &mesos.Filters{RefuseSeconds: &refuse},
	}}); code != 202 {
		t.Fatal("DECLINE")
	}
	if ev, err := s.Await(scheduler.Event_OFFERS, 500*time.Millisecond); err == nil {
		t.Fatalf("offer came back within the refuse filter: %v", ev)
	}
	if code, _, _ := s.Call(&scheduler.Call{Type: scheduler.Call_REVIVE}); code != 202 {
		t.Fatal("REVIVE")
	}
	if _, err := s.Await(scheduler.Event_OFFERS, wait); err != nil {
		t.Fatalf("no offer after REVIVE: %v", err)
	}
	if code, _, _ := s.Call(&scheduler.Call{Type: scheduler.Call_SUPPRESS}); code != 202 {
		t.Fatal("SUPPRESS")
	}
}
