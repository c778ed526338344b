package agent_test

import (
	"net/http"
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

func launchGroup(t *testing.T, s *keeper, offer *mesos.Offer, exec *mesos.ExecutorInfo, tasks ...mesos.TaskInfo) {
	t.Helper()
	refuse := 0.0
	code, body, err := s.Call(&scheduler.Call{Type: scheduler.Call_ACCEPT, Accept: &scheduler.Call_Accept{
		OfferIDs: []mesos.OfferID{offer.ID},
		Operations: []mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH_GROUP, LaunchGroup: &mesos.Offer_Operation_LaunchGroup{
			Executor: *exec, TaskGroup: mesos.TaskGroupInfo{Tasks: tasks},
		}}},
		Filters: &mesos.Filters{RefuseSeconds: &refuse},
	}})
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("ACCEPT: %d %q %v", code, body, err)
	}
}

// TestDefaultExecutor runs task groups on the built-in DEFAULT executor: a
// finished task leaves its group running, a failed one takes its group
// down, and the executor ends once no task is left.
func TestDefaultExecutor(t *testing.T) {
	env := start(t, 1, nil)
	s := subscribe(t, env)
	exec := &mesos.ExecutorInfo{
		Type:       mesos.ExecutorInfo_DEFAULT,
		ExecutorID: mesos.ExecutorID{Value: "default"},
		Resources:  []mesos.Resource{resources.NewCPUs(0.1).Resource, resources.NewMemory(32).Resource},
	}
	offer := firstOffer(t, s)
	launchGroup(t, s, offer, exec,
		shellTask("ok-1", offer, `echo "from the group in $MESOS_SANDBOX"`),
		shellTask("ok-2", offer, "exec sleep 1000"))
	final := map[string]mesos.TaskStatus{}
	running := map[string]bool{}
	collect(t, s, func(ev *scheduler.Event) bool {
		if ev.Type == scheduler.Event_UPDATE {
			st := ev.Update.Status
			if st.GetState() == mesos.TASK_RUNNING {
				running[st.TaskID.Value] = true
			} else if st.GetState() != mesos.TASK_STARTING {
				final[st.TaskID.Value] = st
			}
		}
		return running["ok-2"] && final["ok-1"].State != nil
	})
	if st := final["ok-1"]; st.State == nil || *st.State != mesos.TASK_FINISHED || st.GetExecutorID().GetValue() != "default" {
		t.Fatalf("ok-1 ended %v of executor %v", st.State, st.ExecutorID)
	}
	if _, ok := final["ok-2"]; ok {
		t.Fatalf("ok-2 ended with its sibling: %v", final["ok-2"].State)
	}
	taskDir := env.sandbox(0, s.FrameworkID(), "default") + "/tasks/ok-1"
	if out := readFile(t, env.agents[0], taskDir+"/stdout"); out != "from the group in "+resolved(t, taskDir)+"\n" && out != "from the group in "+taskDir+"\n" {
		t.Errorf("ok-1 stdout %q", out)
	}

	// A second group on the same executor: one task fails, its sibling is
	// killed, the first group runs on.
	offer = firstOffer(t, s)
	launchGroup(t, s, offer, exec, shellTask("bad", offer, "exit 7"), shellTask("victim", offer, "exec sleep 1000"))
	collect(t, s, func(ev *scheduler.Event) bool {
		if ev.Type == scheduler.Event_UPDATE {
			if st := ev.Update.Status; st.GetState() != mesos.TASK_RUNNING && st.GetState() != mesos.TASK_STARTING {
				final[st.TaskID.Value] = st
			}
		}
		return final["bad"].State != nil && final["victim"].State != nil
	})
	if st := final["bad"]; *st.State != mesos.TASK_FAILED || st.GetMessage() != "Command exited with status 7" {
		t.Errorf("bad ended %v %q", st.State, st.GetMessage())
	}
	if st := final["victim"]; *st.State != mesos.TASK_KILLED {
		t.Errorf("victim ended %v, want TASK_KILLED with its group", st.State)
	}
	if _, ok := final["ok-2"]; ok {
		t.Fatalf("ok-2 of the other group ended: %v", final["ok-2"].State)
	}

	// Killing the last task ends the executor.
	if code, _, err := s.Call(&scheduler.Call{Type: scheduler.Call_KILL, Kill: &scheduler.Call_Kill{TaskID: mesos.TaskID{Value: "ok-2"}}}); err != nil || code != http.StatusAccepted {
		t.Fatalf("KILL: %d %v", code, err)
	}
	var failure *scheduler.Event_Failure
	collect(t, s, func(ev *scheduler.Event) bool {
		switch ev.Type {
		case scheduler.Event_UPDATE:
			final[ev.Update.Status.TaskID.Value] = ev.Update.Status
		case scheduler.Event_FAILURE:
			failure = ev.Failure
		}
		st, ok := final["ok-2"]
		return failure != nil && ok && *st.State == mesos.TASK_KILLED
	})
	if failure.GetExecutorID().GetValue() != "default" || failure.GetStatus() != 0 {
		t.Errorf("FAILURE %v, want the default executor with status 0", failure)
	}
}

// TestCustomExecutorTaskGroup: a group for a custom executor arrives as one
// LAUNCH_GROUP event.
func TestCustomExecutorTaskGroup(t *testing.T) {
	env := start(t, 1, nil)
	s := subscribe(t, env)
	exec := executorInfo(t, "grouped")
	exec.Type = mesos.ExecutorInfo_CUSTOM
	offer := firstOffer(t, s)
	launchGroup(t, s, offer, exec, executorTask("g1", offer, nil, "finish"), executorTask("g2", offer, nil, "finish"))
	for _, id := range []string{"g1", "g2"} {
		if _, last := awaitTerminal(t, s, id); last.GetState() != mesos.TASK_FINISHED {
			t.Fatalf("%s: %v", id, last.GetState())
		}
	}
	out := readFile(t, env.agents[0], env.sandbox(0, s.FrameworkID(), "grouped")+"/stdout")
	if !strings.Contains(out, "EVENT LAUNCH_GROUP g1") || !strings.Contains(out, "EVENT LAUNCH_GROUP g2") || strings.Contains(out, "EVENT LAUNCH ") {
		t.Errorf("executor stdout:\n%s", out)
	}
}
